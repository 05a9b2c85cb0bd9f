"""``flask ilms import-questions`` and ``flask ilms export-questions``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ilms.errors import DomainError
from ilms.exchange import services
from ilms.exchange.detect import FORMATS
from ilms.exchange.safety import Limits, check_upload
from ilms.extensions import db


@click.command("import-questions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", "slug", required=True, help="The bank's name (made if it does not exist).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    help="The file's format (default: detected).",
)
@click.option("--title", default=None, help="The title of a bank made by this import.")
@with_appcontext
def import_questions_command(path: Path, slug: str, fmt: str | None, title: str | None) -> None:
    """Import the questions of a GIFT, Moodle XML or QTI file (or QTI zip) into a bank."""
    limits = Limits.from_config(current_app.config)
    try:
        check_upload(path.stat().st_size, limits)
        result = services.read_file(path.read_bytes(), path.name, fmt, limits)
        report = services.import_questions(slug, result, title)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    for item, status in report.items:
        click.echo(f"{status:<9} {item.key} ({item.label})")
        for note in item.notes:
            click.echo(f"          note: {note}")
    for skipped in report.skipped:
        click.echo(f"skipped   {skipped}")
    click.echo(report.summary)


@click.command("export-questions")
@click.option("--bank", "slug", required=True, help="The bank to export.")
@click.option("--format", "fmt", required=True, type=click.Choice(list(FORMATS)))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The file to write, or a folder to write <bank>.<extension> into.",
)
@with_appcontext
def export_questions_command(slug: str, fmt: str, out: Path) -> None:
    """Export a bank as GIFT, Moodle XML or a QTI 2.1 package."""
    try:
        written = services.export_bank(slug, fmt)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    target = out / services.export_filename(slug, fmt) if out.is_dir() else out
    target.write_bytes(written.data)
    for note in written.notes:
        click.echo(f"note: {note}")
    for skipped in written.skipped:
        click.echo(f"skipped: {skipped}")
    click.echo(f"wrote {target}")
    click.echo(written.summary)
