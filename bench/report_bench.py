"""Time a cohort report end to end against floors measured in the same run.

Synthetic cohorts of 1,000 and 10,000 students x 40 items, pre and post (``synth-cohort``), in a
fresh database (SQLite in a temporary folder, or ``--database-url``). For each size:

(a) loading the counted attempts' responses (``load_assignment``) vs. a raw DB-API fetch of the
    same rows;
(b) computing the statistics (``build_report``) vs. the same statistics computed directly with
    NumPy from in-memory matrices (the floor of bench/report_stats_bench.py);
(c) the faculty PDF vs. a 2-page baseline PDF with three SVG charts rendered by the same WeasyPrint,
    and, at 1,000 students, the PDF with every student's scores, with its peak memory (tracemalloc)
    beside the baseline's.

It also counts the SQL queries of one report (an event listener on the engine) and times the
creation of each synthetic cohort. Goals: load + compute within 2x the raw fetch, compute within 5x
the NumPy floor, the same number of queries at both sizes, the faculty PDF within 3x the baseline at
10,000 students, the PDF with the appendix within 30x the baseline at 1,000 students and its peak
memory within 12x.

    .venv/bin/python bench/report_bench.py [--database-url URL]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader
from pypdf import PdfReader
from report_stats_bench import floor
from sqlalchemy import event, text

from ilms import create_app
from ilms.cohorts.models import Assignment
from ilms.extensions import db
from ilms.pdf import render_pdf
from ilms.reports import charts, documents, snapshots
from ilms.reports.loader import load_assignment
from ilms.reports.models import Appendix
from ilms.reports.stats import PhaseMatrix, build_report
from ilms.reports.synth import synth_cohort

SIZES = (1_000, 10_000)
ITEMS = 40
APPENDIX_AT = 1_000
RUNS = 7  #: alternating runs of the loading and the statistics (medians)
PDF_RUNS = 3  #: of the PDFs
RAW_SQL = """
SELECT r.attempt_id, r.question_version_id, r.points, r.answer
FROM responses r JOIN attempts a ON a.id = r.attempt_id JOIN quizzes q ON q.id = a.quiz_id
WHERE q.assignment_id = :assignment AND a.state <> 'open'
"""
BASELINE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Baseline</title>
<link rel="stylesheet" href="{{ url_for('static', filename='css/pdf.css') }}"></head>
<body><h1>Baseline report</h1>
{% for svg in charts %}<h2>Chart {{ loop.index }}</h2><p>{{ text }}</p>{{ svg }}{% endfor %}
</body></html>
"""


def interleaved(
    first: Callable[[], object], second: Callable[[], object], runs: int = RUNS
) -> tuple[float, float]:
    """Median seconds of each, run alternately so that both meet the same machine load."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for run, record in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            run()
            record.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def peak_memory(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def raw_fetch(assignment_id: int) -> list[Any]:
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if db.engine.dialect.name == "sqlite":
            cursor.execute(RAW_SQL.replace(":assignment", "?"), (assignment_id,))
        else:
            cursor.execute(RAW_SQL.replace(":assignment", "%s"), (assignment_id,))
        return cursor.fetchall()
    finally:
        connection.close()


def matched(pre: PhaseMatrix, post: PhaseMatrix) -> tuple[PhaseMatrix, PhaseMatrix]:
    """Both phases restricted to the students with both, in the same order (the floor's input)."""
    common = sorted(set(pre.students) & set(post.students))

    def take(m: PhaseMatrix) -> PhaseMatrix:
        rows = np.array([m.students.index(s) for s in common])
        assert m.choices is not None and m.languages is not None
        choices = type(m.choices)(m.choices.options, m.choices.keys, m.choices.chosen[rows])
        languages = tuple(m.languages[r] for r in rows)
        return PhaseMatrix(
            m.phase, common, m.items, m.max_points, m.scores[rows], languages, choices
        )

    return take(pre), take(post)


def baseline_pdf() -> bytes:
    categories = [f"{10 * b}-{10 * b + 10}" for b in range(10)]
    values = [3, 5, 9, 14, 20, 26, 22, 15, 9, 4]
    series = [charts.Series("Pre-test", values, "hatch"), charts.Series("Post-test", values[::-1])]
    svgs = [
        charts.grouped_bars(
            f"b{i}", "Chart", "A chart.", categories, series, x_label="x", y_label="y"
        )
        for i in range(3)
    ]
    text_block = "A paragraph of text beside a chart. " * 12
    return render_pdf("bench_baseline.html", {"charts": svgs, "text": text_block}, locale="en")


@dataclass
class Figures:
    students: int
    synth_s: float = 0.0
    raw_s: float = 0.0
    load_s: float = 0.0
    compute_s: float = 0.0
    floor_s: float = 0.0
    queries: int = 0
    pdf_s: float = 0.0
    baseline_s: float = 0.0  #: the baseline PDF, timed in alternation with the faculty PDF
    pdf_pages: int = 0
    appendix_s: float | None = None
    appendix_baseline_s: float | None = None
    appendix_pages: int | None = None
    appendix_peak: int | None = None
    baseline_peak: int | None = None


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(app: Flask, n: int, baseline: Callable[[], bytes]) -> Figures:
    """Every figure at ``n`` students; each timed against its floor in alternate runs."""
    figures = Figures(n)
    with app.app_context():
        progress(f"{n:,} students: creating the synthetic cohort")
        start = time.perf_counter()
        cohort = synth_cohort(n, ITEMS, seed=n)
        db.session.commit()
        figures.synth_s = time.perf_counter() - start
        assignment = db.session.get(Assignment, cohort.assignment_id)
        assert assignment is not None
        load_assignment(assignment)  # warm caches and lazy imports before timing
        progress(f"{n:,} students: loading")
        figures.load_s, figures.raw_s = interleaved(
            lambda: load_assignment(assignment), lambda: raw_fetch(assignment.id)
        )
        data = load_assignment(assignment)
        assert data.pre is not None and data.post is not None
        pre, post = matched(data.pre, data.post)

        def report() -> dict[str, Any]:
            return build_report(
                fresh(data.pre), fresh(data.post), enrolled=data.enrolled, outcomes=data.outcomes
            )

        progress(f"{n:,} students: computing")
        figures.compute_s, figures.floor_s = interleaved(
            report, lambda: floor(pre, post, data.outcomes)
        )
        db.session.expire_all()
        with counted_queries() as seen:
            again = load_assignment(db.session.get(Assignment, assignment.id))
            build_report(again.pre, again.post, outcomes=again.outcomes)
        figures.queries = len(seen)
        snapshot = snapshots.assignment_snapshot(assignment)
        snapshots.recompute(snapshot)
        db.session.commit()
        progress(f"{n:,} students: the faculty PDF")
        figures.pdf_s, figures.baseline_s = interleaved(
            lambda: documents.snapshot_pdf(snapshot, "en", Appendix.NONE, 5), baseline, PDF_RUNS
        )
        pdf = documents.snapshot_pdf(snapshot, "en", Appendix.NONE, 5)
        figures.pdf_pages = len(PdfReader(io.BytesIO(pdf)).pages)
        if n == APPENDIX_AT:
            progress(f"{n:,} students: the PDF with each student's scores")

            def appendix() -> bytes:
                return documents.snapshot_pdf(snapshot, "en", Appendix.PSEUDONYMS, 5)

            figures.appendix_s, figures.appendix_baseline_s = interleaved(
                appendix, baseline, PDF_RUNS
            )
            figures.appendix_pages = len(PdfReader(io.BytesIO(appendix())).pages)
            figures.appendix_peak = peak_memory(appendix)
            figures.baseline_peak = peak_memory(baseline)
    return figures


def fresh(m: PhaseMatrix) -> PhaseMatrix:
    """A new matrix, so that no derived array is cached from an earlier run."""
    return PhaseMatrix(m.phase, m.students, m.items, m.max_points, m.scores, m.languages, m.choices)


def make_app(database_url: str | None, folder: Path) -> Flask:
    url = database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-key-" + "x" * 32,
            "QUEUE_IMMEDIATE": True,
            "MAIL_BACKEND": "memory",
        }
    )
    app.jinja_loader = ChoiceLoader(  # type: ignore[assignment]
        [DictLoader({"bench_baseline.html": BASELINE}), app.jinja_loader]  # type: ignore[list-item]
    )
    from flask_migrate import upgrade

    with app.app_context():
        if database_url:
            db.session.execute(text("SELECT 1"))
        upgrade()
    return app


def ratio(value: float, base: float) -> str:
    return f"{value / base:.1f}x" if base else "n/a"


def print_figures(results: list[Figures]) -> None:
    print(
        f"\n{'students':>9} {'synth':>8} {'raw fetch':>10} {'load':>8} {'compute':>9} "
        f"{'NumPy floor':>12} {'load+compute/raw':>17} {'compute/floor':>14} {'queries':>8}"
    )
    for f in results:
        print(
            f"{f.students:>9,} {f.synth_s:>7.1f}s {f.raw_s * 1000:>8.0f}ms {f.load_s * 1000:>6.0f}ms "
            f"{f.compute_s * 1000:>7.0f}ms {f.floor_s * 1000:>10.0f}ms "
            f"{ratio(f.load_s + f.compute_s, f.raw_s):>17} {ratio(f.compute_s, f.floor_s):>14} "
            f"{f.queries:>8}"
        )
    print()
    for f in results:
        print(
            f"faculty PDF at {f.students:,} students: {f.pdf_s * 1000:.0f} ms, {f.pdf_pages} pages; "
            f"baseline (2 pages, 3 SVG charts) {f.baseline_s * 1000:.0f} ms: "
            f"{ratio(f.pdf_s, f.baseline_s)}"
        )
        if f.appendix_s and f.appendix_baseline_s and f.appendix_peak and f.baseline_peak:
            print(
                f"with each student's scores at {f.students:,}: {f.appendix_s * 1000:.0f} ms, "
                f"{f.appendix_pages} pages: {ratio(f.appendix_s, f.appendix_baseline_s)} the "
                f"baseline; peak memory {f.appendix_peak / 2**20:.1f} MiB vs "
                f"{f.baseline_peak / 2**20:.1f} MiB: {ratio(f.appendix_peak, f.baseline_peak)}"
            )
    print(
        "\nGoals: load+compute/raw <= 2x; compute/floor <= 5x; the same query count at every "
        "size; faculty PDF <= 3x the baseline at 10,000; with each student's scores <= 30x the "
        "baseline's time and <= 12x its peak memory at 1,000."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(args.database_url, Path(folder))
        with app.app_context():
            baseline_pdf()  # warm WeasyPrint's fonts and imports
        results = [measure(app, n, baseline_pdf) for n in SIZES]
        print_figures(results)
        url = app.config["SQLALCHEMY_DATABASE_URI"].split("?")[0]
        print(
            f"database: {url.split('://')[0]}; {ITEMS} items, pre and post; medians of {RUNS} "
            "runs, each figure alternating with its floor."
        )


if __name__ == "__main__":
    main()
