"""The ``analyze`` command: a cohort report from response files exported by other tools, no database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from ilms.reports.documents import document_pdf
from ilms.reports.privacy import DEFAULT_MIN_N, pseudonymise, suppress
from ilms.reports.stats import build_report
from ilms.reports.tabular import (
    DELIMITERS,
    Loaded,
    TabularError,
    load_phase,
    read_key,
    write_item_statistics,
    write_student_scores,
)

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
OUTPUT = click.Path(dir_okay=False, writable=True, path_type=Path)


@click.command("analyze")
@click.argument("responses", type=FILE)
@click.option("--post", "post_path", type=FILE, help="Post-test responses, matched by student id.")
@click.option(
    "--key", "key_path", type=FILE, help="One value per item (a row or a column): correct options."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "csv", "pdf"]),
    default="json",
    show_default=True,
    help="json: the whole report; csv: item statistics; pdf: the report for faculty.",
)
@click.option(
    "--locale",
    type=click.Choice(["en", "ru", "kk"]),
    default="en",
    show_default=True,
    help="PDF language.",
)
@click.option("--out", "out_path", type=OUTPUT, required=True, help="The file to write.")
@click.option(
    "--min-n",
    type=click.IntRange(min=0),
    default=DEFAULT_MIN_N,
    show_default=True,
    help="Suppress figures resting on fewer students than this (0 or 1: suppress nothing).",
)
@click.option("--deidentify", is_flag=True, help="Replace student ids with stable pseudonyms.")
@click.option(
    "--salt",
    envvar="ILMS_PSEUDONYM_SALT",
    help="Secret for pseudonyms (at least 16 characters; default: $ILMS_PSEUDONYM_SALT).",
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "points", "choices"]),
    default="auto",
    show_default=True,
    help="Cells are points, or chosen options graded against --key (auto: options when a key is given).",
)
@click.option("--id-column", help="Header of the student identifier column (default: detected).")
@click.option(
    "--ignore-column", multiple=True, help="A column that is not an item; repeat for several."
)
@click.option(
    "--delimiter",
    type=click.Choice(["auto", *DELIMITERS]),
    default="auto",
    show_default=True,
)
@click.option(
    "--students",
    "students_path",
    type=OUTPUT,
    help="Also write per-student scores as CSV (they rest on one student each: needs --min-n 1).",
)
@with_appcontext
def analyze_command(
    responses: Path,
    post_path: Path | None,
    key_path: Path | None,
    output_format: str,
    out_path: Path,
    min_n: int,
    deidentify: bool,
    salt: str | None,
    mode: str,
    id_column: str | None,
    ignore_column: tuple[str, ...],
    delimiter: str,
    students_path: Path | None,
    locale: str,
) -> None:
    """Analyse RESPONSES (and --post): one row per student, one column per item."""
    if students_path is not None and min_n > 1:
        raise click.UsageError(
            "per-student scores rest on one student each: add --min-n 1 "
            "(and --deidentify for a research export)"
        )
    if deidentify and not salt:
        raise click.UsageError("--deidentify needs a secret: --salt or ILMS_PSEUDONYM_SALT")
    read = {
        "mode": mode,
        "id_column": id_column,
        "delimiter": DELIMITERS.get(delimiter),
        "ignore": ignore_column,
    }
    try:
        key = read_key(key_path, DELIMITERS.get(delimiter)) if key_path else None
        loaded = [load_phase(responses, "pre", key=key, **read)]
        if post_path is not None:
            loaded.append(load_phase(post_path, "post", key=key, **read))
        report = _report(loaded, students_path is not None, deidentify, salt, min_n)
    except (TabularError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    for warning in report["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    _write(report, output_format, out_path, students_path, locale)
    click.echo(_summary(report, out_path))


def _report(
    loaded: list[Loaded],
    with_students: bool,
    deidentify: bool,
    salt: str | None,
    min_n: int,
) -> dict[str, Any]:
    warnings = [w for phase in loaded for w in phase.warnings]
    if len(loaded) == 2 and not all(phase.has_ids for phase in loaded):
        warnings.append(
            "pre and post cannot be matched without a student identifier column in both files"
        )
    post = loaded[1].matrix if len(loaded) > 1 else None
    report = build_report(loaded[0].matrix, post, include_students=with_students, warnings=warnings)
    report["source"] = {item.matrix.phase: item.source for item in loaded}
    if deidentify:
        assert salt is not None
        report = pseudonymise(report, salt)
    return suppress(report, min_n)


def _write(
    report: dict[str, Any],
    output_format: str,
    out_path: Path,
    students_path: Path | None,
    locale: str,
) -> None:
    if output_format == "json":
        text = json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False)
        out_path.write_text(text + "\n", encoding="utf-8")
    elif output_format == "pdf":
        out_path.write_bytes(document_pdf(report, None, min_n=report["min_n"], locale=locale))
    else:
        # A byte-order mark makes spreadsheet programs read the file as UTF-8.
        with out_path.open("w", encoding="utf-8-sig", newline="") as stream:
            write_item_statistics(report, stream)
    if students_path is not None:
        with students_path.open("w", encoding="utf-8-sig", newline="") as stream:
            write_student_scores(report, stream)


def _summary(report: dict[str, Any], out_path: Path) -> str:
    pre, post, paired = report["pre"], report["post"], report["paired"]
    parts = [f"pre: {pre['n']} students, {pre['items']} items"]
    if post["items"]:
        parts.append(f"post: {post['n']} students, {post['items']} items")
        parts.append(f"matched: {paired['n']}")
    return f"{'; '.join(parts)}. Wrote {out_path}"


@click.command("synth-cohort")
@click.option("--students", type=click.IntRange(min=1, max=200_000), required=True)
@click.option("--items", type=click.IntRange(min=2, max=500), required=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random draws.")
@click.option(
    "--gain",
    type=float,
    default=1.0,
    show_default=True,
    help="Added to every student's ability (in logits) on the post-test.",
)
@with_appcontext
def synth_cohort_command(students: int, items: int, seed: int, gain: float) -> None:
    """Create a synthetic cohort with pre- and post-tests (demos, benchmarks); print its id."""
    from ilms.extensions import db
    from ilms.reports.synth import synth_cohort

    result = synth_cohort(students, items, seed=seed, gain=gain)
    db.session.commit()
    click.echo(
        f"cohort {result.cohort_id}: {result.students} students, {result.items} items, module "
        f"{result.module_slug}; pre-test mean {result.pre_mean:.2f}%, post-test mean "
        f"{result.post_mean:.2f}% ({result.matched} took both)",
        err=True,
    )
    click.echo(result.cohort_id)
