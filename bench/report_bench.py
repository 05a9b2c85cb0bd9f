"""Time a cohort report end to end against floors measured in the same run.

Synthetic cohorts of 1,000 and 10,000 students x 40 items, pre and post (``synth-cohort``), in a
fresh database (SQLite in a temporary folder, or ``--database-url``). For each size:

(a) loading the counted attempts' responses (``load_assignment``) vs. a raw DB-API fetch of the
    same rows (the answer as text, as the loader reads it);
(b) computing the statistics (``build_report``) vs. the same statistics computed directly with
    NumPy from in-memory matrices (the floor of bench/report_stats_bench.py);
(c) the faculty PDF vs. a 2-page baseline PDF with three SVG charts rendered by the same WeasyPrint,
    and, at 1,000 students, the PDF with every student's scores, with its peak memory (tracemalloc)
    beside the baseline's.

It also counts the SQL queries of one report (an event listener on the engine) and times the
creation of each synthetic cohort. Goals: load + compute within 2x the raw fetch, compute within 5x
the NumPy floor, the same number of queries at both sizes, the faculty PDF within 3x the baseline at
10,000 students, the PDF with the appendix within 30x the baseline at 1,000 students and its peak
memory within 12x. PDF times are given as wall-clock time and as the process's CPU time: on a machine
shared with other work the CPU times vary less.

    .venv/bin/python bench/report_bench.py [--database-url URL] [--only pdf] [--sizes 1000 ...]
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
from ilms.reports.models import Appendix, ReportSnapshot
from ilms.reports.presentation import Figure
from ilms.reports.stats import PhaseMatrix, build_report
from ilms.reports.synth import synth_cohort

SIZES = (1_000, 10_000)
ITEMS = 40
APPENDIX_AT = 1_000
RUNS = 7  #: alternating runs of the loading and the statistics (medians)
PDF_RUNS = 5  #: of the PDFs
RAW_SQL = """
SELECT r.attempt_id, r.question_version_id, r.points, CAST(r.answer AS TEXT)
FROM responses r JOIN attempts a ON a.id = r.attempt_id JOIN quizzes q ON q.id = a.quiz_id
WHERE q.assignment_id = :assignment AND a.state <> 'open'
"""
BASELINE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Baseline</title>
<link rel="stylesheet" href="{{ url_for('static', filename='css/pdf.css') }}"></head>
<body><h1>Baseline report</h1>
{% for chart in charts %}<h2>Chart {{ loop.index }}</h2><p>{{ text }}</p>
<img src="{{ chart.data_uri }}" alt="{{ chart.title }}">{% endfor %}
</body></html>
"""


@dataclass(frozen=True)
class Timing:
    """Median seconds of two things run alternately: wall-clock and CPU time of this process."""

    first: float
    second: float
    first_cpu: float
    second_cpu: float


def interleaved(
    first: Callable[[], object], second: Callable[[], object], runs: int = RUNS
) -> Timing:
    """Median seconds of each, run alternately so that both meet the same machine load."""
    wall: tuple[list[float], list[float]] = ([], [])
    cpu: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for run, on_wall, on_cpu in ((first, wall[0], cpu[0]), (second, wall[1], cpu[1])):
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            on_wall.append(time.perf_counter() - start)
            on_cpu.append(time.process_time() - start_cpu)
    medians = [statistics.median(values) for values in (*wall, *cpu)]
    return Timing(*medians)


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
    figures = [
        Figure(
            f"b{i}",
            "Chart",
            charts.grouped_bars(
                f"b{i}", "Chart", "A chart.", categories, series, x_label="x", y_label="y"
            ),
            "A chart.",
        )
        for i in range(3)
    ]
    text_block = "A paragraph of text beside a chart. " * 12
    return render_pdf("bench_baseline.html", {"charts": figures, "text": text_block}, locale="en")


@dataclass
class Figures:
    students: int
    synth_s: float = 0.0
    raw_s: float = 0.0
    load_s: float = 0.0
    compute_s: float = 0.0
    floor_s: float = 0.0
    queries: int = 0
    pdf: Timing | None = None  #: the faculty PDF, in alternation with the baseline PDF
    pdf_pages: int = 0
    appendix: Timing | None = None
    appendix_pages: int | None = None
    appendix_peak: int | None = None
    baseline_peak: int | None = None


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(
    app: Flask, n: int, baseline: Callable[[], bytes], *, only_pdf: bool, pdf_runs: int
) -> Figures:
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
        if not only_pdf:
            measure_statistics(figures, assignment)
        snapshot = snapshots.assignment_snapshot(assignment)
        snapshots.recompute(snapshot)
        db.session.commit()
        measure_pdfs(figures, snapshot, baseline, pdf_runs)
    return figures


def measure_statistics(figures: Figures, assignment: Assignment) -> None:
    """(a) loading against the raw fetch, (b) computing against the NumPy floor, and queries."""
    n = figures.students
    load_assignment(assignment)  # warm caches and lazy imports before timing
    progress(f"{n:,} students: loading")
    loading = interleaved(lambda: load_assignment(assignment), lambda: raw_fetch(assignment.id))
    figures.load_s, figures.raw_s = loading.first, loading.second
    data = load_assignment(assignment)
    assert data.pre is not None and data.post is not None
    pre, post = matched(data.pre, data.post)

    def report() -> dict[str, Any]:
        return build_report(
            fresh(data.pre), fresh(data.post), enrolled=data.enrolled, outcomes=data.outcomes
        )

    progress(f"{n:,} students: computing")
    computing = interleaved(report, lambda: floor(pre, post, data.outcomes))
    figures.compute_s, figures.floor_s = computing.first, computing.second
    db.session.expire_all()
    with counted_queries() as seen:
        again = load_assignment(db.session.get(Assignment, assignment.id))
        build_report(again.pre, again.post, outcomes=again.outcomes)
    figures.queries = len(seen)


def measure_pdfs(
    figures: Figures, snapshot: ReportSnapshot, baseline: Callable[[], bytes], runs: int
) -> None:
    """(c) the faculty PDF and, at ``APPENDIX_AT`` students, the one with the appendix."""
    n = figures.students

    def faculty() -> bytes:
        return documents.snapshot_pdf(snapshot, "en", Appendix.NONE, 5)

    def appendix() -> bytes:
        return documents.snapshot_pdf(snapshot, "en", Appendix.PSEUDONYMS, 5)

    progress(f"{n:,} students: the faculty PDF")
    figures.pdf = interleaved(faculty, baseline, runs)
    figures.pdf_pages = len(PdfReader(io.BytesIO(faculty())).pages)
    if n == APPENDIX_AT:
        progress(f"{n:,} students: the PDF with each student's scores")
        figures.appendix = interleaved(appendix, baseline, runs)
        figures.appendix_pages = len(PdfReader(io.BytesIO(appendix())).pages)
        figures.appendix_peak = peak_memory(appendix)
        figures.baseline_peak = peak_memory(baseline)


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


def pdf_times(timing: Timing) -> str:
    """A PDF's time against the baseline's, as wall-clock and as CPU time."""
    return (
        f"{timing.first * 1000:,.0f} ms vs {timing.second * 1000:,.0f} ms: "
        f"{ratio(timing.first, timing.second)} (CPU {timing.first_cpu * 1000:,.0f} ms vs "
        f"{timing.second_cpu * 1000:,.0f} ms: {ratio(timing.first_cpu, timing.second_cpu)})"
    )


def print_statistics(results: list[Figures]) -> None:
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


def print_figures(results: list[Figures], baseline_pages: int, only_pdf: bool) -> None:
    if not only_pdf:
        print_statistics(results)
    print(f"\nPDFs against the baseline ({baseline_pages} pages, 3 SVG charts):")
    for f in results:
        if f.pdf is not None:
            print(
                f"faculty PDF at {f.students:,} students, {f.pdf_pages} pages: {pdf_times(f.pdf)}"
            )
        if f.appendix is not None and f.appendix_peak and f.baseline_peak:
            print(
                f"with each student's scores at {f.students:,}, {f.appendix_pages} pages: "
                f"{pdf_times(f.appendix)}; peak memory {f.appendix_peak / 2**20:.1f} MiB vs "
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
    parser.add_argument(
        "--only", choices=("all", "pdf"), default="all", help="pdf: time only the PDFs (c)"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), metavar="N", help="students"
    )
    parser.add_argument("--pdf-runs", type=int, default=PDF_RUNS, help="runs of each PDF")
    args = parser.parse_args()
    only_pdf = args.only == "pdf"
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(args.database_url, Path(folder))
        with app.app_context():
            baseline_pdf()  # warm WeasyPrint's fonts and imports
            pages = len(PdfReader(io.BytesIO(baseline_pdf())).pages)
        results = [
            measure(app, n, baseline_pdf, only_pdf=only_pdf, pdf_runs=args.pdf_runs)
            for n in args.sizes
        ]
        print_figures(results, pages, only_pdf)
        url = app.config["SQLALCHEMY_DATABASE_URI"].split("?")[0]
        print(
            f"database: {url.split('://')[0]}; {ITEMS} items, pre and post; medians of {RUNS} "
            f"runs ({args.pdf_runs} for PDFs), each figure alternating with its floor."
        )


if __name__ == "__main__":
    main()
