"""Edge cases: tiny groups, zero variance, full marks, missing phases, partial credit, missing marks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ilms.reports.stats import (
    ItemSpec,
    PhaseBuilder,
    PhaseMatrix,
    build_report,
    compare_paired,
    describe,
    item_statistics,
    match_students,
    reliability,
)


def matrix(phase: str, scores, students=None, maxima=None, languages=None) -> PhaseMatrix:
    scores = np.asarray(scores, dtype=float)
    n, k = scores.shape
    return PhaseMatrix(
        phase,
        students or [f"s{i}" for i in range(n)],
        [f"q{j}" for j in range(k)],
        maxima if maxima is not None else np.ones(k),
        scores,
        languages=languages,
    )


def as_json(report: dict) -> str:
    """Fails on NaN or infinity anywhere in the document."""
    return json.dumps(report, allow_nan=False)


def test_one_student_gives_nulls_not_errors():
    report = build_report(matrix("pre", [[1, 0]]), matrix("post", [[1, 1]]))
    as_json(report)
    assert (report["pre"]["n"], report["pre"]["mean"], report["pre"]["sd"]) == (1, 50.0, None)
    assert report["pre"]["alpha"] is None and report["pre"]["sem"] is None
    paired = report["paired"]
    assert (paired["n"], paired["mean_diff"]) == (1, 50.0)
    for key in ("sd_diff", "ci95", "t", "df", "p_t", "wilcoxon_w", "cohen_dz", "cohen_dav"):
        assert paired[key] is None, key
    assert paired["hake_g_class"] == 1.0
    item = report["items"][0]
    assert item["facility"] == 1.0
    assert all(item[k] is None for k in ("sd", "discrimination", "point_biserial", "upper_lower"))


def test_nobody_at_all():
    report = build_report(None, None)
    as_json(report)
    assert report["pre"]["n"] == report["post"]["n"] == report["paired"]["n"] == 0
    assert report["items"] == [] and report["outcomes"] == []
    assert describe(np.array([])).mean is None


def test_a_phase_whose_marks_are_all_missing():
    nan = math.nan
    empty = matrix("post", [[nan, nan], [nan, nan]])
    report = build_report(None, empty)
    as_json(report)
    assert report["post"]["n"] == 0 and report["participation"]["completed_post"] == 0
    assert [item["n"] for item in report["items"]] == [0, 0]
    assert all(item["facility"] is None and item["flags"] == [] for item in report["items"])


def test_zero_variance_everywhere():
    same = [[1, 0, 1]] * 6
    report = build_report(matrix("pre", same), matrix("post", same))
    as_json(report)
    assert (report["pre"]["sd"], report["pre"]["alpha"]) == (0.0, None)
    for item in report["items"]:
        assert item["sd"] == 0.0
        assert item["discrimination"] is None and item["discriminative_efficiency"] is None
    paired = report["paired"]
    assert (paired["mean_diff"], paired["sd_diff"]) == (0.0, 0.0)
    assert paired["t"] is None and paired["p_t"] is None and paired["ci95"] is None
    assert paired["wilcoxon_w"] is None and paired["cohen_dz"] is None
    assert paired["cohen_dav"] is None


def test_constant_gain_has_no_t_but_has_a_wilcoxon():
    r = compare_paired(np.array([40.0, 50, 60, 70]), np.array([50.0, 60, 70, 80]))
    assert (r.mean_diff, r.sd_diff, r.t, r.cohen_dz) == (10.0, 0.0, None, None)
    assert r.wilcoxon_w == 0.0 and r.p_wilcoxon == pytest.approx(0.125)
    assert r.cohen_dav == pytest.approx(10 / np.std([40, 50, 60, 70], ddof=1))


def test_everyone_at_full_marks_on_the_pre_test():
    pre = np.full(5, 100.0)
    post = np.array([100.0, 90, 80, 100, 95])
    r = compare_paired(pre, post)
    assert r.hake_g_class is None and r.hake_g_mean is None
    assert r.hake_excluded == 5
    assert r.cohen_dav is not None and r.cohen_dav_ci95 is None  # pre SD is 0: no correlation
    report = build_report(matrix("pre", np.ones((5, 4))), matrix("post", np.eye(5, 4)))
    as_json(report)
    assert report["paired"]["hake_excluded"] == 5
    assert report["paired"]["hake_g_mean_n"] == 0


def test_missing_post_test():
    pre = matrix("pre", np.random.default_rng(1).integers(0, 2, (12, 5)))
    report = build_report(pre, None)
    as_json(report)
    assert report["post"] == {**report["post"], "n": 0, "items": 0, "mean": None, "alpha": None}
    assert report["paired"]["n"] == 0 and report["paired"]["t"] is None
    assert {item["phase"] for item in report["items"]} == {"pre"}
    assert report["participation"]["completed_post"] == 0


def test_partial_credit_is_a_fraction_of_the_maximum():
    scores = [[2, 0.5, 1], [1, 1, 0], [0, 0.25, 1], [2, 1, 1]]
    m = matrix("pre", scores, maxima=np.array([2.0, 1.0, 1.0]))
    s = item_statistics(m)
    assert s.facility.tolist() == pytest.approx([5 / 8, 2.75 / 4, 3 / 4])
    # Percentages over 4 points: 87.5, 50, 31.25, 100
    assert m.percent.tolist() == pytest.approx([87.5, 50.0, 31.25, 100.0])
    assert reliability(m).method == "alpha"


def test_ungraded_marks_are_left_out_not_zero():
    nan = math.nan
    scores = [[1, 1, nan], [1, 0, 2], [0, 0, nan], [nan, nan, nan], [1, 1, 1]]
    m = matrix("pre", scores, maxima=np.array([1.0, 1.0, 2.0]))
    # Student 4 has no mark at all: not counted. Student 1: 2 of 2 points graded = 100%.
    assert m.scored.tolist() == [True, True, True, False, True]
    assert m.percent[0] == 100.0 and m.percent[4] == 75.0
    s = item_statistics(m)
    assert s.n.tolist() == [4, 4, 2]
    assert s.facility[2] == pytest.approx(3 / 4)
    assert reliability(m).n == 2  # only students 2 and 5 have every item graded
    report = build_report(m, None)
    as_json(report)
    assert report["pre"]["n"] == 4 and report["pre"]["alpha_n"] == 2


def test_matching_uses_identifiers_not_row_order():
    pre = matrix("pre", [[0], [1], [0]], students=["ann", "bob", "cy"])
    post = matrix("post", [[1], [1]], students=["cy", "ann"])
    matched = match_students(pre, post)
    assert matched.students == ("ann", "cy")
    assert pre.students[matched.pre_rows[1]] == post.students[matched.post_rows[1]] == "cy"


def test_language_and_attendance_subgroups_partition_the_students():
    rng = np.random.default_rng(3)
    students = [f"s{i}" for i in range(20)]
    pre = matrix("pre", rng.integers(0, 2, (20, 4)), students, languages=["en"] * 12 + ["ru"] * 8)
    post_languages = ["en"] * 10 + ["ru"] * 10  # s10 and s11 switched to Russian
    post = matrix("post", rng.integers(0, 2, (20, 4)), students, languages=post_languages)
    attendance = {s: i % 3 == 0 for i, s in enumerate(students[:18])}
    report = build_report(pre, post, attendance=attendance)
    language = report["subgroups"]["language"]
    assert [(c["group"], c["n"]) for c in language["pre"]] == [("en", 12), ("ru", 8)]
    assert [(c["group"], c["n"]) for c in language["paired"]] == [
        ("en", 10),
        ("mixed", 2),
        ("ru", 8),
    ]
    groups = {c["group"]: c["n"] for c in report["subgroups"]["attendance"]["paired"]}
    assert groups == {"attended": 6, "not_attended": 12, "unknown": 2}
    assert sum(groups.values()) == report["paired"]["n"]


def test_builder_collects_rows_in_one_pass():
    builder = PhaseBuilder(
        "post",
        [ItemSpec("q1", 1, ("a", "b"), frozenset({"a"})), ItemSpec("essay", 4)],
    )
    rows = [
        ("ann", "q1", 1.0, ["a"]),
        ("ann", "essay", None, []),
        ("bob", "q1", 0.0, ["b"]),
        ("bob", "essay", 3.0, []),
    ]
    builder.add_attempt("ann", language="kk")
    for student, question, score, chosen in rows:
        builder.add_response(student, question, score, chosen)
    m = builder.build()
    assert m.students == ("ann", "bob") and m.languages == ("kk", None)
    assert np.isnan(m.scores[0, 1]) and m.scores[1].tolist() == [0.0, 3.0]
    assert m.choices is not None and m.choices.chosen[:, 0, :].tolist() == [
        [True, False],
        [False, True],
    ]
    builder.add_response("bob", "q1", 1.0)
    with pytest.raises(ValueError, match="two responses"):
        builder.build()


@pytest.mark.parametrize(
    ("students", "scores", "message"),
    [
        (["a", "a"], [[1], [0]], "appears twice"),
        (["a", "b"], [[2], [0]], "exceeds"),
        (["a", "b"], [[1, 0]], "one row per student"),
    ],
)
def test_matrix_refuses_bad_input(students, scores, message):
    with pytest.raises(ValueError, match=message):
        PhaseMatrix("pre", students, ["q"], [1.0], np.array(scores, dtype=float))
    with pytest.raises(ValueError, match="phase"):
        PhaseMatrix("mid", ["a"], ["q"], [1.0], [[1.0]])
