"""Hand-worked examples: the expected numbers were computed on paper (workings in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ilms.reports.stats import (
    Choices,
    OutcomeMap,
    PhaseMatrix,
    build_report,
    compare_paired,
    distractor_analysis,
    item_statistics,
    reliability,
)

# Five students, three one-point items.    totals: 3, 2, 2, 1, 0 (mean 1.6, variance 5.2/4 = 1.3)
SCORES = [
    [1, 1, 1],
    [1, 1, 0],
    [1, 0, 1],
    [0, 1, 0],
    [0, 0, 0],
]
# Options chosen on q1 (A is the key): s1-s3 chose A, s4 chose B, s5 chose C.
Q1_CHOICES = ["A", "A", "A", "B", "C"]


def five_students() -> PhaseMatrix:
    chosen = np.zeros((5, 3, 3), dtype=bool)
    for row, option in enumerate(Q1_CHOICES):
        chosen[row, 0, "ABC".index(option)] = True
    choices = Choices(
        options=(("A", "B", "C"), (), ()),
        keys=(frozenset({"A"}), frozenset(), frozenset()),
        chosen=chosen,
    )
    return PhaseMatrix(
        "pre",
        ["s1", "s2", "s3", "s4", "s5"],
        ["q1", "q2", "q3"],
        [1, 1, 1],
        SCORES,
        choices=choices,
    )


def test_facility_and_item_sd():
    s = item_statistics(five_students())
    # q1: 3/5; q2: 3/5; q3: 2/5. Each item: deviations² sum to 1.2, variance 1.2/4 = 0.3.
    assert s.facility.tolist() == pytest.approx([0.6, 0.6, 0.4])
    assert s.sd.tolist() == pytest.approx([math.sqrt(0.3)] * 3)
    assert s.n.tolist() == [5, 5, 5]


def test_discrimination_index_is_the_item_rest_correlation():
    s = item_statistics(five_students())
    # q1: rest = 2,1,1,1,0; cov = (0.4·1 + 0.6·1)/4 = 0.25; var rest = 2/4 = 0.5
    #     r = 0.25 / sqrt(0.3 · 0.5) = 0.645497
    # q2: rest = 2,1,2,0,0; cross-products 0.4 + 0 - 0.6 - 0.4 + 0.6 = 0 -> r = 0
    # q3: rest = 2,2,1,1,0 (mean 1.2); cov = 0.6/4 = 0.15; var rest = 2.8/4 = 0.7
    #     r = 0.15 / sqrt(0.3 · 0.7) = 0.327327
    assert s.discrimination.tolist() == pytest.approx([0.645497, 0.0, 0.327327], abs=1e-6)


def test_discriminative_efficiency():
    s = item_statistics(five_students())
    # q1: sorted marks 0,0,1,1,1 against sorted rest 0,1,1,1,2 give the same cross-products
    #     as the real pairing (1.0), so DE = 1.
    # q2: cov 0 -> DE 0.
    # q3: sorted 0,0,0,1,1 vs 0,1,1,2,2: cross-products 0.48+0.08+0.08+0.48+0.48 = 1.6,
    #     max cov 0.4; DE = 0.15 / 0.4 = 0.375
    assert s.discriminative_efficiency.tolist() == pytest.approx([1.0, 0.0, 0.375])


def test_point_biserial_is_the_item_total_correlation():
    s = item_statistics(five_students())
    # Total deviations 1.4, 0.4, 0.4, -0.6, -1.6; sd product sqrt(0.3 · 1.3) = 0.624500
    # q1: cross-products 2.2 -> cov 0.55 -> 0.880705
    # q2: 1.2 -> 0.3 -> 0.480384;  q3: 1.8 -> 0.45 -> 0.720577
    assert s.point_biserial.tolist() == pytest.approx([0.880705, 0.480384, 0.720577], abs=1e-6)


def test_alpha_kr20_alpha_if_deleted_and_sem():
    rel = reliability(five_students())
    # alpha = 3/2 · (1 - 0.9/1.3) = 0.461538 (KR-20: 3/2 · (1 - 0.72/1.04), the same)
    assert rel.method == "kr20"
    assert rel.alpha == pytest.approx(0.461538, abs=1e-6)
    # Without q1: rest 2,1,1,1,0 (var 0.5): 2 · (1 - 0.6/0.5) = -0.4
    # Without q2: 2,1,2,0,0 (var 1.0): 2 · (1 - 0.6) = 0.8
    # Without q3: 2,2,1,1,0 (var 0.7): 2 · (1 - 0.6/0.7) = 0.285714
    assert rel.alpha_if_deleted.tolist() == pytest.approx([-0.4, 0.8, 0.285714], abs=1e-6)
    # SD of percentages = 100 · sqrt(1.3) / 3 = 38.005848; SEM = 38.005848 · sqrt(0.538462)
    assert rel.error_ratio == pytest.approx(0.733799, abs=1e-6)
    assert rel.sem == pytest.approx(27.8887, abs=1e-3)


def test_distractors_overall_and_by_third():
    d = distractor_analysis(five_students())
    assert d is not None
    # Ranking by score: s5 (0%), s4, s2, s3, s1 (100%); third = floor(3·rank/5):
    # lower s5, s4; middle s2, s3; upper s1.
    assert d.share[0].tolist() == pytest.approx([0.6, 0.2, 0.2])
    assert d.third_n[:, 0].tolist() == [2, 2, 1]
    assert d.by_third[0, 0].tolist() == pytest.approx([0.0, 0.5, 0.5])
    assert d.by_third[1, 0].tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert d.by_third[2, 0].tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert d.omitted[0] == 0.0
    # Choosing B (s4 only): deviations -0.2 x4, 0.8; cross-products with the totals -0.6,
    # cov -0.15, variance 0.2 · 0.8 · 5/4 = 0.2: r = -0.15 / sqrt(0.2 · 1.3) = -0.294174.
    # Choosing C (s5 only): cross-products -1.6, cov -0.4: r = -0.784465. A is q1 itself.
    assert d.point_biserial[0].tolist() == pytest.approx([0.880705, -0.294174, -0.784465], abs=1e-6)
    assert np.isnan(d.share[1]).all()


def test_report_items_flags_and_mastery():
    outcomes = OutcomeMap(
        {"q1": "boolean", "q2": "boolean", "q3": "keywords"},
        {
            "boolean": "searching-as-strategic-exploration",
            "keywords": "searching-as-strategic-exploration",
        },
    )
    report = build_report(five_students(), None, outcomes=outcomes)
    q1, q2, q3 = report["items"]
    assert (q1["facility"], q1["discrimination"], q1["flags"]) == (0.6, 0.6455, [])
    # q2 does not discriminate at all: weak (0 <= r < 0.2) and below Moodle's 15% efficiency.
    assert q2["flags"] == ["weak_discrimination", "low_efficiency"]
    assert q3["alpha_if_deleted"] == 0.2857
    assert [o["share"] for o in q1["options"]] == [0.6, 0.2, 0.2]
    assert [o["key"] for o in q1["options"]] == [True, False, False]
    assert q1["options"][1]["by_third"] == {"lower": 0.5, "middle": 0.0, "upper": 0.0}
    # Mastery: boolean (q1, q2) = 6 of 10 marks; keywords (q3) = 2 of 5; the frame 8 of 15.
    by_outcome = {row["outcome"]: row["pre"] for row in report["outcomes"]}
    assert by_outcome["boolean"] == {**by_outcome["boolean"], "n": 5, "items": 2, "mastery": 0.6}
    assert by_outcome["keywords"]["mastery"] == 0.4
    (frame,) = report["frames"]
    assert (frame["outcomes"], frame["pre"]["mastery"], frame["pre"]["items"]) == (2, 0.5333, 3)
    assert frame["post"] == {**frame["post"], "n": 0, "mastery": None}
    # Percentages 100, 66.67, 66.67, 33.33, 0: mean 53.33, median 66.67, SD 38.01, SEM 27.89
    pre = report["pre"]
    assert (pre["mean"], pre["median"], pre["sd"], pre["sem"]) == (53.33, 66.67, 38.01, 27.89)
    assert (pre["alpha"], pre["reliability_method"]) == (0.4615, "kr20")


def test_upper_lower_27_percent_with_partial_credit():
    # Eight students; item a is worth 1 point, item b 2 points.
    scores = [[1, 2], [1, 1], [0, 2], [1, 0], [0, 1], [0, 0], [1, 0.5], [0, 0.5]]
    matrix = PhaseMatrix("pre", [f"s{i}" for i in range(1, 9)], ["a", "b"], [1, 2], scores)
    s = item_statistics(matrix)
    # Ranking: s6 (0), s8, s4, s5, s7, s2, s3, s1 (100%). Groups of round(0.27 · 8) = 2:
    # lower s6, s8; upper s3, s1.
    assert s.upper_lower_group == 2
    # a: upper (0 + 1)/2 - lower 0 = 0.5;  b: upper (2 + 2)/4 - lower (0 + 0.5)/4 = 0.875
    assert s.upper_lower.tolist() == pytest.approx([0.5, 0.875])
    # b: marks sum to 7 of a possible 16.
    assert s.facility.tolist() == pytest.approx([0.5, 0.4375])
    rel = reliability(matrix)
    # var a = 2/7, var b = 4.375/7 = 0.625, var total = 6.375/7: cov(a, b) = 0, so alpha = 0.
    assert rel.method == "alpha"
    assert rel.alpha == pytest.approx(0.0, abs=1e-12)


def test_paired_example_with_a_student_at_full_marks():
    pre = np.array([50.0, 60.0, 70.0, 100.0])
    post = np.array([70.0, 60.0, 90.0, 100.0])
    r = compare_paired(pre, post)
    # Differences 20, 0, 20, 0: mean 10, SD sqrt(400/3) = 11.547005, t = 10/(11.547005/2) = sqrt(3)
    assert (r.mean_diff, r.df) == (10.0, 3)
    assert r.sd_diff == pytest.approx(11.547005, abs=1e-6)
    assert r.t == pytest.approx(math.sqrt(3))
    assert r.cohen_dz == pytest.approx(0.866025, abs=1e-6)
    # SDs: pre sqrt(1400/3) = 21.602469, post sqrt(1000/3) = 18.257419; mean 19.929944
    assert r.cohen_dav == pytest.approx(10 / 19.929944, abs=1e-6)
    # <g> = (80 - 70) / (100 - 70) = 1/3; individual: 20/50, 0/40, 20/30 (the 100% student left out)
    assert r.hake_g_class == pytest.approx(1 / 3)
    assert r.hake_g_mean == pytest.approx((0.4 + 0 + 2 / 3) / 3)
    assert r.hake_excluded == 1
    # Two non-zero differences, both positive: the smaller rank sum is 0.
    assert r.wilcoxon_w == 0.0
