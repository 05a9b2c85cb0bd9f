"""The report's context: the plain-language summary built from the figures, tables and charts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilms.reports import presentation
from ilms.reports.presentation import Numbers, effect_size_word, report_context, summary_sentences
from ilms.reports.privacy import suppress
from ilms.reports.stats import PhaseMatrix, build_report

OFFSETS = np.array([-12.0, -6.0, 0.0, 6.0, 12.0] * 6)  # mean 0, SD about 8.6


def matrix(phase: str, scores: np.ndarray, students: list[str] | None = None) -> PhaseMatrix:
    """One item worth 100 points: a student's score is their percentage."""
    names = students or [f"s{i}" for i in range(len(scores))]
    return PhaseMatrix(phase, names, ["q"], np.array([100.0]), np.asarray(scores)[:, None])


def document(pre: np.ndarray | None, post: np.ndarray | None, **kwargs) -> dict:
    return build_report(
        matrix("pre", pre) if pre is not None else None,
        matrix("post", post) if post is not None else None,
        enrolled=kwargs.pop("enrolled", 30),
        **kwargs,
    )


def summary(doc: dict, min_n: int = 5) -> list[str]:
    shown = suppress(doc, min_n)
    return summary_sentences(shown, min_n, Numbers("en"), {})


def test_the_issue_s_example(app_ctx):
    sentences = summary(document(48 + OFFSETS, 71 + np.roll(OFFSETS, 1)))
    assert sentences[0] == (
        "Students' scores rose from 48% to 71%; a large, statistically significant gain."
    )
    assert sentences[1] == "30 of 30 enrolled students took both the pre-test and the post-test."


def test_a_small_gain_that_is_not_significant(app_ctx):
    pre = np.array([30.0, 70.0] * 5)
    post = pre + np.array([25.0, -15.0] * 5)
    sentences = summary(document(pre, post, enrolled=10))
    assert sentences[0] == (
        "Students' scores rose from 50% to 55%; a small gain that is not statistically significant."
    )


def test_a_drop(app_ctx):
    sentences = summary(document(71 + OFFSETS, 48 + np.roll(OFFSETS, 2)))
    assert sentences[0] == (
        "Students' scores fell from 71% to 48%; a large, statistically significant drop."
    )


def test_no_change_and_the_same_change_for_everyone(app_ctx):
    same = summary(document(50 + OFFSETS, 50 + OFFSETS))
    assert same[0] == "Students' scores did not change: 50% before and after."
    shifted = summary(document(50 + OFFSETS, 60 + OFFSETS))
    assert shifted[0].startswith(
        "Every student's score changed by the same +10.0 percentage points"
    )


@pytest.mark.parametrize(
    ("d", "word"),
    [
        (0.0, "negligible"),
        (0.19, "negligible"),
        (0.2, "small"),
        (-0.49, "small"),
        (0.5, "medium"),
        (0.8, "large"),
        (-2.0, "large"),
    ],
)
def test_cohen_s_words(app_ctx, d, word):
    assert effect_size_word(d, "up") == word
    assert effect_size_word(d, "down") == word


def test_too_few_students_are_named_plainly(app_ctx):
    sentences = summary(
        document(np.array([40.0, 50.0, 60.0]), np.array([60.0, 70.0, 90.0]), enrolled=3)
    )
    assert sentences[0].startswith("Fewer than 5 students have taken both tests.")
    assert not any("%" in s for s in sentences)  # no figure leaks through the wording


def test_withheld_averages_keep_the_verdict_without_numbers(app_ctx):
    pre = 48 + OFFSETS
    post_students = [f"s{i}" for i in range(29)]  # one student has no post-test
    doc = build_report(
        matrix("pre", pre),
        matrix("post", 71 + np.roll(OFFSETS, 1)[:29], post_students),
        enrolled=30,
    )
    shown = suppress(doc, 5)
    sentences = summary_sentences(shown, 5, Numbers("en"), {})
    assert sentences[0] == "Students' scores rose; a large, statistically significant gain."
    notes = presentation.notices(shown, 5)
    assert any("averages are withheld" in note for note in notes)


def test_empty_and_one_sided_reports(app_ctx):
    assert summary(document(None, None))[0] == (
        "No student has completed a test yet, so there is nothing to report."
    )
    assert summary(document(50 + OFFSETS, None))[0] == (
        "No student has taken both tests yet, so there is no change to report."
    )
    one = summary(document(np.array([50.0]), np.array([60.0]), enrolled=1), min_n=1)
    assert one[0] == "Only one student has taken both tests: too few to measure a change."


def test_numbers_follow_the_reader_s_language(app_ctx):
    assert Numbers("en").percent(54.75) == "54.8%"
    assert "54,8" in Numbers("ru").percent(54.75)
    assert "54,8" in Numbers("kk").percent(54.75)
    assert Numbers("en").p_value(0.0002) == "< 0.001"
    assert Numbers("en").points(-3.25) == "-3.2" or Numbers("en").points(-3.25) == "-3.3"
    assert Numbers("en").decimal(None) == presentation.NOTHING


def test_context_has_charts_tables_and_withheld_cells(app_ctx):
    small = build_report(
        matrix("pre", np.array([40.0, 50.0, 60.0])),
        matrix("post", np.array([60.0, 70.0, 90.0])),
        enrolled=3,
    )
    context = report_context(small, None, min_n=5, locale="en", computed_at=None)
    scores = context["sections"][0]
    assert scores.figure is None and "fewer than 5" in scores.empty
    mean_row = next(r for r in scores.tables[0].rows if r.header == "Mean")
    assert [c.text for c in mean_row.cells] == ["withheld", "withheld"]
    assert all(c.withheld for c in mean_row.cells)
    big = document(48 + OFFSETS, 71 + np.roll(OFFSETS, 1))
    context = report_context(big, {"q": "label-q"}, min_n=5, locale="en", computed_at=None)
    figures = [s.figure for s in context["sections"] if s.figure]
    assert {f.id for f in figures} == {"chart-distribution", "chart-change"}
    for figure in figures:
        assert 'role="img"' in figure.svg and figure.alternative
    items = next(s for s in context["sections"] if s.id == "items")
    assert items.tables[0].rows[0].header == "label-q"
    assert items.figure is None and items.empty  # one item: no discrimination to draw
    assert all(table.caption for s in context["sections"] for table in s.tables)


def item(label: str, phase: str, facility: float, discrimination: float, **kwargs) -> dict:
    return {
        "label": label,
        "phase": phase,
        "facility": facility,
        "discrimination": discrimination,
        "flags": kwargs.get("flags", []),
        "suppressed_keys": kwargs.get("suppressed_keys", []),
    }


def test_the_pdf_item_table_puts_before_and_after_in_one_cell(app_ctx):
    items = [
        item("q1", "pre", 0.15, 0.28, flags=["too_hard"]),
        item("q1", "post", 0.5, 0.31),
        item("q2", "pre", 0.6, 0.4),  # not on the post-test
        item("q3", "post", 0.7, 0.3, suppressed_keys=["discrimination", "flags"]),
    ]
    table = presentation.printed_item_table(items, Numbers("ru"))
    assert table.columns == ["Facility, before → after", "Discrimination, before → after", "Flags"]
    rows = {row.header: [cell.text for cell in row.cells] for row in table.rows}
    assert rows["q1"] == ["0,15 → 0,50", "0,28 → 0,31", "Pre-test: too hard"]
    assert rows["q2"] == ["0,60 → –", "0,40 → –", "–"]
    assert rows["q3"] == ["– → 0,70", "– → withheld", "withheld"]
    q3 = next(row for row in table.rows if row.header == "q3")
    assert [cell.withheld for cell in q3.cells] == [False, True, True]


@settings(max_examples=40, deadline=None)
@given(
    pre=st.lists(st.integers(0, 100), min_size=0, max_size=12),
    post=st.lists(st.integers(0, 100), min_size=0, max_size=12),
    min_n=st.integers(0, 8),
)
def test_suppressing_twice_changes_nothing(pre, post, min_n):
    """The report command's PDF suppresses a document that is already suppressed."""
    doc = build_report(
        matrix("pre", np.array(pre, dtype=float)) if pre else None,
        matrix("post", np.array(post, dtype=float), [f"s{i + 3}" for i in range(len(post))])
        if post
        else None,
    )
    once = suppress(doc, min_n)
    assert suppress(once, min_n) == once
