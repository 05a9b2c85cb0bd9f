"""The ``flask ilms ...`` command group."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ilms.errors import DomainError
from ilms.extensions import db
from ilms.permissions import Role

ilms_cli = AppGroup("ilms", help="ILMS administration commands.")


DEMO_PASSWORD = "ilms-demo"  # noqa: S105  (published demo log-in, only for `seed-demo`)
DEMO_ACCOUNTS = (
    ("student@example.edu", "Aigerim Student", Role.STUDENT),
    ("librarian@example.edu", "Lena Librarian", Role.LIBRARIAN),
    ("faculty@example.edu", "Farid Faculty", Role.FACULTY),
    ("admin@example.edu", "Adil Admin", Role.ADMIN),
)


@ilms_cli.command("create-user")
@click.option("--email", required=True, help="The person's email address (their log-in).")
@click.option("--name", required=True, help="The name shown in ILMS.")
@click.option(
    "--role",
    "roles",
    required=True,
    multiple=True,
    type=click.Choice([r.value for r in Role]),
    help="A role; repeat for several.",
)
@click.option("--password", default=None, help="Initial password; omit to email a reset link.")
@click.option("--locale", default=None, type=click.Choice(["en", "ru", "kk"]))
def create_user_command(
    email: str, name: str, roles: tuple[str, ...], password: str | None, locale: str | None
) -> None:
    """Create an account."""
    from ilms.accounts import services

    try:
        user = services.create_user(email, name, [Role(r) for r in roles], password, locale=locale)
        if password is None:
            with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
                services.request_password_reset(user.email, None)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"created user {user.id} {user.email} ({', '.join(sorted(roles))})")


@ilms_cli.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo accounts (and demo data); safe to run again."""
    for line in seed_demo():
        click.echo(line)


def seed_demo() -> list[str]:
    from ilms.accounts import services

    lines = []
    hashed = services.hash_password(DEMO_PASSWORD)
    for email, name, role in DEMO_ACCOUNTS:
        user = services.find_user_by_email(email)
        if user is None:
            user = services.create_user(email, name, [role], password_hash=hashed)
        lines.append(f"  {role.value:<10} {email:<24} password: {DEMO_PASSWORD}")
    db.session.commit()
    from ilms.infosessions.demo import seed_demo_sessions

    lines.extend(seed_demo_sessions())
    db.session.commit()
    from ilms.cohorts.demo import seed_demo_cohort

    lines.extend(seed_demo_cohort(hashed))
    db.session.commit()
    return ["Demo log-ins:", *lines]


@ilms_cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
def worker_command(workers: int) -> None:
    """Run the background job worker in the foreground (when not embedded in the app)."""
    from ilms.jobs import run_worker

    run_worker(current_app._get_current_object(), workers)  # type: ignore[attr-defined]


BUNDLED_MODULES = Path(__file__).resolve().parent.parent / "modules"


@ilms_cli.command("import-modules")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--draft", is_flag=True, help="Leave newly created modules unpublished.")
def import_modules_command(path: Path | None, draft: bool) -> None:
    """Load the module packages under PATH (default: the bundled modules/); safe to run again."""
    from ilms.authoring import services

    results, problems = services.import_folder(path or BUNDLED_MODULES, publish=not draft)
    db.session.commit()
    for result in results:
        click.echo(
            f"{result.status:<9} {result.slug} (version {result.version}, "
            f"{result.questions_changed} questions changed)"
        )
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    click.echo(
        f"imported {sum(r.status != 'unchanged' for r in results)}, "
        f"unchanged {sum(r.status == 'unchanged' for r in results)}, "
        f"invalid {len({p.file.split('/')[1] if '/' in p.file else p.file for p in problems})}"
    )
    if problems:
        raise SystemExit(1)


@ilms_cli.command("export-module")
@click.argument("slug")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write the module folder into.",
)
def export_module_command(slug: str, out: Path) -> None:
    """Write a module's current version in the plain-text module format."""
    from ilms.authoring import services

    try:
        folder = services.export_module(slug, out)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"wrote {folder}")


@ilms_cli.command("close-overdue")
def close_overdue_command() -> None:
    """Submit attempts whose time ran out, grading the answers saved before the deadline."""
    from ilms.delivery import services

    count = services.close_overdue()
    db.session.commit()
    click.echo(f"closed {count} overdue attempts")


@ilms_cli.command("report")
@click.option("--cohort", "cohort_id", type=int, required=True, help="The cohort's id.")
@click.option(
    "--module", "module_slug", default=None, help="The module, if the cohort has several."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "csv", "pdf"]),
    default="json",
    show_default=True,
)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--min-n",
    type=click.IntRange(min=0),
    default=None,
    help="Suppress figures resting on fewer students (default: ILMS_REPORT_MIN_N).",
)
@click.option("--deidentify", is_flag=True, help="Replace students with stable pseudonyms.")
@click.option(
    "--locale",
    type=click.Choice(["en", "ru", "kk"]),
    default="en",
    show_default=True,
    help="PDF language.",
)
def report_command(
    cohort_id: int,
    module_slug: str | None,
    output_format: str,
    out_path: Path,
    min_n: int | None,
    deidentify: bool,
    locale: str,
) -> None:
    """Write a cohort's pre/post report as JSON, CSV (item statistics) or PDF."""
    from ilms.reports import services
    from ilms.reports.outputs import write_report

    try:
        assignment = services.cohort_assignment(cohort_id, module_slug)
        report = services.assignment_report(assignment, min_n=min_n, deidentify=deidentify)
        write_report(report, output_format, out_path, locale=locale)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"wrote {out_path}")


def _register_domain_commands() -> None:
    from ilms.infosessions.commands import import_sessions_command, send_reminders_command
    from ilms.reports.commands import analyze_command, synth_cohort_command

    ilms_cli.add_command(analyze_command)
    ilms_cli.add_command(synth_cohort_command)

    ilms_cli.add_command(import_sessions_command)
    ilms_cli.add_command(send_reminders_command)

    from ilms.exchange.commands import export_questions_command, import_questions_command

    ilms_cli.add_command(import_questions_command)
    ilms_cli.add_command(export_questions_command)

    from ilms.lti.cli import lti_cli

    ilms_cli.add_command(lti_cli)


_register_domain_commands()
