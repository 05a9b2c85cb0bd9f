"""Every test statistic of the report engine against SciPy (or NumPy) on seeded random data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ilms.reports.stats import (
    PhaseMatrix,
    build_report,
    compare_paired,
    describe,
    item_statistics,
    noncentral_t_ci,
    reliability,
)

SEEDS = [1, 2, 3, 4, 5]


def random_matrix(seed: int, n: int = 60, k: int = 8, partial: bool = False) -> PhaseMatrix:
    """Scores driven by a latent ability, so that items correlate as real tests do."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=(n, 1))
    difficulty = rng.normal(size=(1, k))
    chance = 1 / (1 + np.exp(-(ability - difficulty)))
    maxima = rng.choice([1.0, 2.0, 4.0], size=k) if partial else np.ones(k)
    if partial:
        scores = np.round(rng.binomial(maxima.astype(int), chance) * 1.0, 2)
    else:
        scores = (rng.random((n, k)) < chance).astype(float)
    return PhaseMatrix(
        "pre", [f"s{i}" for i in range(n)], [f"q{j}" for j in range(k)], maxima, scores
    )


def paired_scores(seed: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pre = np.clip(rng.normal(55, 15, n), 0, 99)
    post = np.clip(pre + rng.normal(8, 10, n), 0, 100)
    return pre, post


@pytest.mark.parametrize("seed", SEEDS)
def test_paired_t_matches_ttest_rel_and_t_ppf(seed):
    pre, post = paired_scores(seed)
    result = compare_paired(pre, post)
    expected = stats.ttest_rel(post, pre)
    assert result.t == pytest.approx(expected.statistic, rel=1e-10)
    assert result.p_t == pytest.approx(expected.pvalue, rel=1e-8)
    assert result.df == len(pre) - 1
    diff = post - pre
    margin = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))
    assert result.ci95 == pytest.approx((diff.mean() - margin, diff.mean() + margin), rel=1e-10)
    low, high = expected.confidence_interval(0.95)
    assert result.ci95 == pytest.approx((low, high), rel=1e-8)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [2, 9, 30, 50, 51, 200])
@pytest.mark.parametrize("ties", [False, True])
def test_wilcoxon_matches_scipy_in_each_of_its_regimes(seed, n, ties):
    # SciPy's default: exact (n <= 50, no ties or zeros), exhaustive permutation (n <= 13 with
    # ties or zeros), else the tie-corrected normal approximation.
    rng = np.random.default_rng(seed)
    diff = rng.integers(-4, 6, n).astype(float) * 2.5 if ties else rng.normal(3, 10, n)
    if not np.any(diff):
        diff[0] = 1.0
    result = compare_paired(np.full(n, 50.0), 50 + diff)
    expected = stats.wilcoxon(diff)
    assert result.wilcoxon_w == pytest.approx(expected.statistic)
    assert result.p_wilcoxon == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_cohen_d_from_their_definitions(seed):
    pre, post = paired_scores(seed)
    result = compare_paired(pre, post)
    diff = post - pre
    assert result.cohen_dz == pytest.approx(diff.mean() / diff.std(ddof=1), rel=1e-12)
    sd_av = (pre.std(ddof=1) + post.std(ddof=1)) / 2
    assert result.cohen_dav == pytest.approx(diff.mean() / sd_av, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_dz_interval_inverts_the_noncentral_t(seed):
    pre, post = paired_scores(seed)
    result = compare_paired(pre, post)
    n = len(pre)
    t = result.cohen_dz * math.sqrt(n)
    low, high = result.cohen_dz_ci95
    # At the limits the observed t sits at the 97.5th and 2.5th percentiles of the noncentral t.
    assert stats.nct.cdf(t, n - 1, low * math.sqrt(n)) == pytest.approx(0.975, abs=1e-8)
    assert stats.nct.cdf(t, n - 1, high * math.sqrt(n)) == pytest.approx(0.025, abs=1e-8)
    assert low < result.cohen_dz < high


def test_dav_interval_follows_algina_keselman():
    pre, post = paired_scores(11)
    result = compare_paired(pre, post)
    n, r = len(pre), stats.pearsonr(pre, post).statistic
    factor = math.sqrt(n / (2 * (1 - r)))
    low, high = result.cohen_dav_ci95
    t = result.cohen_dav * factor
    assert stats.nct.cdf(t, n - 1, low * factor) == pytest.approx(0.975, abs=1e-8)
    assert stats.nct.cdf(t, n - 1, high * factor) == pytest.approx(0.025, abs=1e-8)


def test_dz_interval_covers_the_true_effect_about_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    true_dz, n, runs = 0.5, 15, 400
    covered = 0
    for _ in range(runs):
        diff = rng.normal(true_dz, 1.0, n)
        low, high = compare_paired(np.zeros(n) + 50, 50 + diff * 10).cohen_dz_ci95
        covered += low <= true_dz <= high
    assert 0.92 <= covered / runs <= 0.98


def test_noncentral_interval_at_zero_is_exact_and_shrinks_with_df():
    # P(T <= 0) = P(Z + ncp <= 0) = Phi(-ncp) whatever the df, so the limits are -z and z.
    low, high = noncentral_t_ci(0.0, 9)
    assert (low, high) == (
        pytest.approx(-stats.norm.ppf(0.975)),
        pytest.approx(stats.norm.ppf(0.975)),
    )
    wide, narrow = noncentral_t_ci(2.0, 4), noncentral_t_ci(2.0, 400)
    assert wide[1] - wide[0] > narrow[1] - narrow[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_descriptives_match_numpy(seed):
    values = np.random.default_rng(seed).uniform(0, 100, 37)
    d = describe(values)
    assert (d.n, d.mean, d.median) == (
        37,
        pytest.approx(values.mean()),
        pytest.approx(np.median(values)),
    )
    assert d.sd == pytest.approx(np.std(values, ddof=1))
    assert (d.q1, d.q3) == (
        pytest.approx(np.percentile(values, 25)),
        pytest.approx(np.percentile(values, 75)),
    )
    assert (d.minimum, d.maximum) == (values.min(), values.max())
    assert d.histogram == tuple(np.histogram(values, bins=10, range=(0, 100))[0])
    assert stats.describe(values).variance == pytest.approx(d.sd**2)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("partial", [False, True])
def test_item_correlations_match_pearsonr(seed, partial):
    matrix = random_matrix(seed, partial=partial)
    s = item_statistics(matrix)
    total = matrix.scores.sum(axis=1)
    for j in range(len(matrix.items)):
        item = matrix.scores[:, j]
        assert s.discrimination[j] == pytest.approx(stats.pearsonr(item, total - item).statistic)
        assert s.point_biserial[j] == pytest.approx(stats.pearsonr(item, total).statistic)
        assert s.facility[j] == pytest.approx(item.mean() / matrix.max_points[j])
        assert s.sd[j] == pytest.approx(item.std(ddof=1) / matrix.max_points[j])


@pytest.mark.parametrize("seed", SEEDS)
def test_point_biserial_of_dichotomous_items_matches_pointbiserialr(seed):
    matrix = random_matrix(seed)
    s = item_statistics(matrix)
    total = matrix.scores.sum(axis=1)
    for j in range(len(matrix.items)):
        expected = stats.pointbiserialr(matrix.scores[:, j].astype(bool), total).statistic
        assert s.point_biserial[j] == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_discriminative_efficiency_against_a_direct_computation(seed):
    matrix = random_matrix(seed)
    s = item_statistics(matrix)
    total = matrix.scores.sum(axis=1)
    for j in range(len(matrix.items)):
        item, rest = matrix.scores[:, j], total - matrix.scores[:, j]
        best = np.cov(np.sort(item), np.sort(rest))[0, 1]
        assert s.discriminative_efficiency[j] == pytest.approx(np.cov(item, rest)[0, 1] / best)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("partial", [False, True])
def test_alpha_and_alpha_if_deleted_against_the_formula(seed, partial):
    matrix = random_matrix(seed, partial=partial)
    rel = reliability(matrix)

    def alpha(x: np.ndarray) -> float:
        k = x.shape[1]
        return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))

    assert rel.alpha == pytest.approx(alpha(matrix.scores))
    for j in range(len(matrix.items)):
        assert rel.alpha_if_deleted[j] == pytest.approx(alpha(np.delete(matrix.scores, j, axis=1)))
    sd_percent = 100 * matrix.scores.sum(axis=1).std(ddof=1) / matrix.max_points.sum()
    assert rel.sem == pytest.approx(sd_percent * math.sqrt(1 - rel.alpha))
    assert rel.error_ratio == pytest.approx(math.sqrt(1 - rel.alpha))
    assert rel.method == ("alpha" if partial else "kr20")


@pytest.mark.parametrize("seed", SEEDS)
def test_alpha_of_dichotomous_items_equals_kr20(seed):
    matrix = random_matrix(seed)
    x = matrix.scores
    k, p = x.shape[1], x.mean(axis=0)
    kr20 = k / (k - 1) * (1 - (p * (1 - p)).sum() / x.sum(axis=1).var(ddof=0))
    assert reliability(matrix).alpha == pytest.approx(kr20)


def test_report_figures_agree_with_scipy_after_rounding():
    pre = random_matrix(7, n=80, k=10)
    rng = np.random.default_rng(8)
    gained = np.minimum(pre.scores + (rng.random(pre.scores.shape) < 0.3), 1.0)
    post = PhaseMatrix("post", pre.students, pre.items, pre.max_points, gained)
    report = build_report(pre, post)
    pre_pct, post_pct = pre.scores.mean(axis=1) * 100, gained.mean(axis=1) * 100
    test = stats.ttest_rel(post_pct, pre_pct)
    paired = report["paired"]
    assert paired["t"] == pytest.approx(test.statistic, abs=5e-5)
    assert paired["p_t"] == pytest.approx(test.pvalue, rel=1e-3)
    assert paired["p_wilcoxon"] == pytest.approx(
        stats.wilcoxon(post_pct - pre_pct).pvalue, rel=1e-3
    )
    assert report["pre"]["mean"] == pytest.approx(pre_pct.mean(), abs=0.005)
    assert report["post"]["sd"] == pytest.approx(post_pct.std(ddof=1), abs=0.005)
