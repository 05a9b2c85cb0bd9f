"""Time build_report against a NumPy floor computing the same core statistics from in-memory matrices.

Synthetic cohorts of 1,000 and 10,000 students x 40 items, pre and post (median of several runs).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy import stats

from ilms.reports.stats import Choices, OutcomeMap, PhaseMatrix, build_report

ITEMS = 40
OPTIONS = 4
RUNS = 9


def synthetic(n: int, seed: int) -> tuple[PhaseMatrix, PhaseMatrix, OutcomeMap]:
    rng = np.random.default_rng(seed)
    ability = rng.normal(size=(n, 1))
    difficulty = rng.normal(size=(1, ITEMS))
    students = [f"student-{i:06d}" for i in range(n)]
    items = [f"q{j:02d}" for j in range(ITEMS)]
    languages = tuple(rng.choice(["en", "ru", "kk"], n).tolist())
    phases = []
    for phase, shift in (("pre", 0.0), ("post", 0.7)):
        right = rng.random((n, ITEMS)) < 1 / (1 + np.exp(-(ability + shift - difficulty)))
        picked = np.where(right, 0, rng.integers(1, OPTIONS, (n, ITEMS)))
        chosen = np.zeros((n, ITEMS, OPTIONS), dtype=bool)
        chosen[np.arange(n)[:, None], np.arange(ITEMS), picked] = True
        options = tuple(("a", "b", "c", "d") for _ in items)
        choices = Choices(options, tuple(frozenset({"a"}) for _ in items), chosen)
        phases.append(
            PhaseMatrix(phase, students, items, np.ones(ITEMS), right * 1.0, languages, choices)
        )
    outcomes = OutcomeMap(
        {item: f"outcome-{j % 8}" for j, item in enumerate(items)},
        {f"outcome-{o}": f"frame-{o % 6}" for o in range(8)},
    )
    return phases[0], phases[1], outcomes


def floor(pre: PhaseMatrix, post: PhaseMatrix, outcomes: OutcomeMap) -> dict[str, object]:
    """The core statistics straight from complete, aligned matrices: no masks, no matching."""
    result: dict[str, object] = {}
    percents = []
    for m in (pre, post):
        x = m.scores
        total = x.sum(axis=1)
        percent = 100 * total / m.max_points.sum()
        percents.append(percent)
        result[m.phase] = floor_phase(x, total, percent, m, outcomes)
    diff = percents[1] - percents[0]
    n = diff.size
    sd = diff.std(ddof=1)
    t = diff.mean() / (sd / np.sqrt(n))
    result["paired"] = (
        t,
        2 * stats.t.sf(abs(t), n - 1),
        stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n),
        stats.wilcoxon(diff, method="asymptotic").pvalue,
        diff.mean() / sd,
        diff.mean() / ((percents[0].std(ddof=1) + percents[1].std(ddof=1)) / 2),
        (percents[1].mean() - percents[0].mean()) / (100 - percents[0].mean()),
        np.mean(diff[percents[0] < 100] / (100 - percents[0][percents[0] < 100])),
    )
    return result


def floor_phase(
    x: np.ndarray, total: np.ndarray, percent: np.ndarray, m: PhaseMatrix, outcomes: OutcomeMap
) -> tuple[object, ...]:
    n, k = x.shape
    describe = (percent.mean(), percent.std(ddof=1), np.percentile(percent, [25, 50, 75]))
    histogram = np.histogram(percent, bins=10, range=(0, 100))[0]
    rest = total[:, None] - x
    xc, rc, tc = x - x.mean(0), rest - rest.mean(0), total - total.mean()
    var_x, var_r = (xc * xc).sum(0) / (n - 1), (rc * rc).sum(0) / (n - 1)
    cov_r = (xc * rc).sum(0) / (n - 1)
    discrimination = cov_r / np.sqrt(var_x * var_r)
    point_biserial = (xc * tc[:, None]).sum(0) / (n - 1) / np.sqrt(var_x * tc.var(ddof=1))
    sx, sr = np.sort(x, axis=0), np.sort(rest, axis=0)
    efficiency = cov_r / (((sx - sx.mean(0)) * (sr - sr.mean(0))).sum(0) / (n - 1))
    order = np.argsort(percent, kind="stable")
    g = round(0.27 * n)
    upper_lower = x[order[-g:]].mean(0) - x[order[:g]].mean(0)
    total_var = tc.var(ddof=1)
    alpha = k / (k - 1) * (1 - var_x.sum() / total_var)
    rest_var = total_var + var_x - 2 * (xc * tc[:, None]).sum(0) / (n - 1)
    alpha_deleted = (k - 1) / (k - 2) * (1 - (var_x.sum() - var_x) / rest_var)
    thirds = np.zeros((n, 3))
    thirds[order, 3 * np.arange(n) // n] = 1
    chosen = m.choices.chosen.reshape(n, -1).astype(float)
    # einsum, as build_report does: a multi-threaded BLAS can stall on a busy machine.
    shares = chosen.mean(0), np.einsum("is,if->sf", thirds, chosen) / thirds.sum(0)[:, None]
    member = np.zeros((k, 8))
    member[np.arange(k), [int(outcomes.item_outcome[i].split("-")[1]) for i in m.items]] = 1
    mastery = x.sum(0) @ member / (n * member.sum(0))
    groups = [percent[np.array(m.languages) == g].mean() for g in ("en", "ru", "kk")]
    items = (discrimination, point_biserial, efficiency, upper_lower, alpha_deleted)
    return describe, histogram, items, alpha, shares, mastery, groups


def interleaved(first: Callable[[], object], second: Callable[[], object]) -> tuple[float, float]:
    """Median seconds of each, run alternately so that both meet the same machine load."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(RUNS):
        for run, record in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            run()
            record.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def fresh(m: PhaseMatrix) -> PhaseMatrix:
    """A new matrix, so that no derived array is cached from an earlier run."""
    return PhaseMatrix(m.phase, m.students, m.items, m.max_points, m.scores, m.languages, m.choices)


def measure(n: int) -> tuple[float, float]:
    pre, post, outcomes = synthetic(n, seed=n)
    build_report(pre, post, outcomes=outcomes)  # warm SciPy's lazy imports
    return interleaved(
        lambda: build_report(fresh(pre), fresh(post), outcomes=outcomes),
        lambda: floor(pre, post, outcomes),
    )


def main() -> None:
    print(f"{'students':>9} {'build_report':>13} {'NumPy floor':>12} {'ratio':>6}")
    for n in (1_000, 10_000):
        mine, base = measure(n)
        print(f"{n:>9,} {mine * 1000:>10.1f} ms {base * 1000:>9.1f} ms {mine / base:>5.1f}x")
    print(
        f"{ITEMS} items, {OPTIONS} options each, pre and post; median of {RUNS} interleaved runs. "
        "The floor skips masking, matching by student and the effect-size intervals."
    )


if __name__ == "__main__":
    main()
