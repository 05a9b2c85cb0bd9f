"""Assessment statistics: pure, vectorised functions from score matrices to the report document.

Formulas and references are in docs/statistics.md; the document's keys in docs/report-schema.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
from scipy import optimize, stats

PHASES = ("pre", "post")
SCHEMA_VERSION = 1
CONFIDENCE = 0.95
HISTOGRAM_EDGES = np.linspace(0.0, 100.0, 11)
#: Kelley's share of students in each of the upper and lower groups.
UPPER_LOWER_SHARE = 0.27
#: Item flags (docs/statistics.md, "Flags").
TOO_EASY = 0.90
TOO_HARD = 0.20
WEAK_DISCRIMINATION = 0.20
LOW_EFFICIENCY = 0.15
#: Variances at or below this are zero: what rounding error leaves of a constant.
ZERO_VARIANCE = 1e-12
#: A percentage at or above this is full marks (percentages are computed in floating point).
FULL_MARKS = 100.0 - 1e-9
UNKNOWN_GROUP = "unknown"
MIXED_GROUP = "mixed"
THIRDS = ("lower", "middle", "upper")


# --- Input ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Choices:
    """Which options each student chose, for distractor analysis.

    ``options[j]`` lists item j's option ids (empty for an item without options), ``keys[j]`` the
    correct ones, and ``chosen[i, j, o]`` is true when student i chose option o of item j. A student
    with a mark on an item but no option chosen omitted it (or gave an answer that is no option).
    """

    options: tuple[tuple[str, ...], ...]
    keys: tuple[frozenset[str], ...]
    chosen: np.ndarray

    def __post_init__(self) -> None:
        chosen = np.asarray(self.chosen, dtype=bool)
        if chosen.ndim != 3 or len(self.options) != chosen.shape[1]:
            raise ValueError("chosen must have the shape (students, items, options)")
        if len(self.keys) != len(self.options):
            raise ValueError("one set of keys is needed per item")
        if chosen.shape[2] < max((len(o) for o in self.options), default=0):
            raise ValueError("chosen has fewer option slots than an item has options")
        object.__setattr__(self, "chosen", chosen)


@dataclass(frozen=True, eq=False)
class PhaseMatrix:
    """One phase's counted attempts: one row per student, one column per item.

    Whoever builds it has already decided which attempt counts for each student (one row each)
    and which marks are missing: ``scores[i, j]`` is student i's points on item j, or NaN when there
    is no mark because the item was not presented or is an open response not graded yet. Every other
    answer, a blank one included, has a mark (0 when wrong). ``languages`` holds each attempt's language.
    """

    phase: str
    students: tuple[str, ...]
    items: tuple[str, ...]
    max_points: np.ndarray
    scores: np.ndarray
    languages: tuple[str | None, ...] | None = None
    choices: Choices | None = None

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}")
        students = tuple(str(s) for s in self.students)
        items = tuple(str(i) for i in self.items)
        maxima = np.asarray(self.max_points, dtype=float).reshape(-1)
        scores = np.asarray(self.scores, dtype=float)
        if scores.size == 0:
            scores = scores.reshape(len(students), len(items))
        if scores.shape != (len(students), len(items)):
            raise ValueError("scores must have one row per student and one column per item")
        _check_matrix(students, items, maxima, scores)
        if self.languages is not None and len(self.languages) != len(students):
            raise ValueError("one language is needed per student")
        if self.choices is not None and self.choices.chosen.shape[:2] != scores.shape:
            raise ValueError("choices must have one row per student and one column per item")
        object.__setattr__(self, "students", students)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "max_points", maxima)
        object.__setattr__(self, "scores", scores)

    @cached_property
    def marked(self) -> np.ndarray:
        """True where a student has a mark on an item."""
        return ~np.isnan(self.scores)

    @cached_property
    def filled(self) -> np.ndarray:
        """The scores with 0 where there is no mark, for sums."""
        return np.where(self.marked, self.scores, 0.0)

    @cached_property
    def totals(self) -> np.ndarray:
        """Each student's points over the items they have marks on (Moodle's sum of marks)."""
        return self.filled.sum(axis=1)

    @cached_property
    def percent(self) -> np.ndarray:
        """Each student's score in percent of the points possible on their marked items (NaN: none)."""
        possible = np.where(self.marked, self.max_points, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(possible > 0, 100.0 * self.totals / possible, np.nan)

    @cached_property
    def scored(self) -> np.ndarray:
        """True for students with at least one mark: the students the phase's figures rest on."""
        return ~np.isnan(self.percent)

    @cached_property
    def keys(self) -> np.ndarray:
        return np.array(self.students, dtype=str)


def _check_matrix(
    students: tuple[str, ...], items: tuple[str, ...], maxima: np.ndarray, scores: np.ndarray
) -> None:
    if len(set(students)) != len(students):
        raise ValueError("a student appears twice; decide which attempt counts before building")
    if len(set(items)) != len(items):
        raise ValueError("an item appears twice")
    if maxima.shape != (len(items),) or not np.all(np.isfinite(maxima) & (maxima > 0)):
        raise ValueError("every item needs a positive maximum")
    if np.isinf(scores).any():
        raise ValueError("scores must be finite or NaN")
    with np.errstate(invalid="ignore"):
        if (scores > maxima * (1 + 1e-9)).any():
            raise ValueError("a score exceeds its item's maximum")


@dataclass(frozen=True)
class ItemSpec:
    """An item as a form presents it: question id, maximum points, option ids and correct options."""

    question: str
    max_points: float
    options: tuple[str, ...] = ()
    keys: frozenset[str] = frozenset()


class PhaseBuilder:
    """Collects one phase's responses, row by row in one pass, into a PhaseMatrix.

    The caller passes only counted attempts, and ``score=None`` for a response without a mark yet
    (an open response not graded): that is what keeps it out of the statistics.
    """

    def __init__(self, phase: str, items: Sequence[ItemSpec]) -> None:
        self.phase = phase
        self._items = tuple(items)
        self._column = {spec.question: j for j, spec in enumerate(self._items)}
        self._option = [{o: n for n, o in enumerate(spec.options)} for spec in self._items]
        self._row: dict[str, int] = {}
        self._languages: list[str | None] = []
        self._cells: list[tuple[int, int, float]] = []
        self._choices: list[tuple[int, int, int]] = []

    def add_attempt(self, student: str, language: str | None = None) -> int:
        """Register a student's counted attempt (once); returns their row."""
        row = self._row.setdefault(student, len(self._row))
        if row == len(self._languages):
            self._languages.append(language)
        elif language is not None:
            self._languages[row] = language
        return row

    def add_response(
        self, student: str, question: str, score: float | None, chosen: Iterable[str] = ()
    ) -> None:
        row = self.add_attempt(student)
        column = self._column[question]
        self._cells.append((row, column, math.nan if score is None else float(score)))
        options = self._option[column]
        self._choices.extend((row, column, options[o]) for o in chosen)

    def build(self) -> PhaseMatrix:
        n, k = len(self._row), len(self._items)
        scores = np.full((n, k), np.nan)
        if self._cells:
            rows, columns, values = (np.array(v) for v in zip(*self._cells, strict=True))
            if np.unique(rows * k + columns).size != rows.size:
                raise ValueError("a student has two responses to one question")
            scores[rows.astype(int), columns.astype(int)] = values
        return PhaseMatrix(
            phase=self.phase,
            students=tuple(self._row),
            items=tuple(spec.question for spec in self._items),
            max_points=np.array([spec.max_points for spec in self._items], dtype=float),
            scores=scores,
            languages=tuple(self._languages),
            choices=self._build_choices(n, k),
        )

    def _build_choices(self, n: int, k: int) -> Choices | None:
        if not any(spec.options for spec in self._items):
            return None
        width = max(len(spec.options) for spec in self._items)
        chosen = np.zeros((n, k, width), dtype=bool)
        if self._choices:
            chosen[tuple(np.array(self._choices).T)] = True
        return Choices(
            options=tuple(spec.options for spec in self._items),
            keys=tuple(spec.keys for spec in self._items),
            chosen=chosen,
        )


@dataclass(frozen=True)
class OutcomeMap:
    """Which learning outcome each question assesses, and which ACRL frame each outcome belongs to."""

    item_outcome: Mapping[str, str]
    outcome_frame: Mapping[str, str] = field(default_factory=dict)


# --- Small helpers --------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    """A float, or None for anything undefined (None, NaN, infinite)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _divide(numerator: np.ndarray, denominator: np.ndarray, defined: np.ndarray) -> np.ndarray:
    """numerator / denominator where ``defined``, NaN elsewhere (no warnings)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined, numerator / np.where(defined, denominator, 1.0), np.nan)


def _sd(values: np.ndarray) -> float | None:
    return float(np.std(values, ddof=1)) if values.size >= 2 else None


def _centred(x: np.ndarray, mask: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means over the masked rows, and x minus them (0 outside the mask)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(mask, x, 0.0).sum(axis=0) / n
    return mean, np.where(mask, x - mean, 0.0)


def _per_pair(sums: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sums of products of deviations divided by n - 1 (NaN for n < 2)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / np.where(n > 1, n - 1, np.nan)


def _correlation(cov: np.ndarray, var_x: np.ndarray, var_y: np.ndarray) -> np.ndarray:
    defined = (var_x > ZERO_VARIANCE) & (var_y > ZERO_VARIANCE)
    return _divide(cov, np.sqrt(np.abs(var_x * var_y)), defined)


# --- Descriptives ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptives:
    """Summary of percentage scores; None where undefined (no scores, or SD with n < 2)."""

    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None
    histogram: tuple[int, ...]


def describe(percent: np.ndarray) -> Descriptives:
    """n, mean, SD (n - 1), quartiles (linear interpolation), range and 10-point histogram."""
    values = np.asarray(percent, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return Descriptives(0, None, None, None, None, None, None, None, (0,) * 10)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    counts, _ = np.histogram(np.clip(values, 0.0, 100.0), bins=HISTOGRAM_EDGES)
    return Descriptives(
        n=int(values.size),
        mean=float(values.mean()),
        sd=_sd(values),
        median=float(median),
        q1=float(q1),
        q3=float(q3),
        minimum=float(values.min()),
        maximum=float(values.max()),
        histogram=tuple(int(c) for c in counts),
    )


# --- Matched pairs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Matched:
    """Row numbers, in the pre and post matrices, of the students with a score in both phases."""

    students: tuple[str, ...]
    pre_rows: np.ndarray
    post_rows: np.ndarray


def match_students(pre: PhaseMatrix, post: PhaseMatrix) -> Matched:
    pre_rows, post_rows = np.flatnonzero(pre.scored), np.flatnonzero(post.scored)
    common, in_pre, in_post = np.intersect1d(
        pre.keys[pre_rows], post.keys[post_rows], assume_unique=True, return_indices=True
    )
    return Matched(tuple(common.tolist()), pre_rows[in_pre], post_rows[in_post])


@dataclass(frozen=True)
class PairedComparison:
    """Pre/post comparison of matched students (difference = post - pre, in percentage points)."""

    n: int
    pre_mean: float | None = None
    post_mean: float | None = None
    mean_diff: float | None = None
    sd_diff: float | None = None
    ci95: tuple[float, float] | None = None
    t: float | None = None
    df: int | None = None
    p_t: float | None = None
    wilcoxon_w: float | None = None
    p_wilcoxon: float | None = None
    cohen_dz: float | None = None
    cohen_dz_ci95: tuple[float, float] | None = None
    cohen_dav: float | None = None
    cohen_dav_ci95: tuple[float, float] | None = None
    hake_g_class: float | None = None
    hake_g_mean: float | None = None
    hake_excluded: int = 0


def compare_paired(pre: np.ndarray, post: np.ndarray, *, full: bool = True) -> PairedComparison:
    """Paired t, Wilcoxon signed-rank, Cohen's d_z and d_av with CIs, Hake's gains.

    ``pre`` and ``post`` are aligned percentage scores; pairs with a NaN are left out. ``full=False``
    skips Wilcoxon and the effect-size CIs (for subgroups).
    """
    pre, post = np.asarray(pre, dtype=float), np.asarray(post, dtype=float)
    keep = ~(np.isnan(pre) | np.isnan(post))
    pre, post = pre[keep], post[keep]
    n = int(pre.size)
    if n == 0:
        return PairedComparison(n=0)
    g_class, g_mean, excluded = hake_gains(pre, post)
    diff = post - pre
    result = PairedComparison(
        n=n,
        pre_mean=float(pre.mean()),
        post_mean=float(post.mean()),
        mean_diff=float(diff.mean()),
        sd_diff=_sd(diff),
        hake_g_class=g_class,
        hake_g_mean=g_mean,
        hake_excluded=excluded,
    )
    if n < 2:
        return result
    result = _with_t_test(result, diff)
    if full:
        result = _with_wilcoxon(result, diff)
        result = _with_effect_sizes(result, pre, post)
    return result


def _with_t_test(result: PairedComparison, diff: np.ndarray) -> PairedComparison:
    n, df = diff.size, diff.size - 1
    sd = float(np.std(diff, ddof=1))
    if sd * sd <= ZERO_VARIANCE:
        return replace(result, df=df)
    mean = float(diff.mean())
    se = sd / math.sqrt(n)
    t = mean / se
    margin = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    return replace(
        result,
        t=t,
        df=df,
        p_t=float(2 * stats.t.sf(abs(t), df)),
        ci95=(mean - margin, mean + margin),
        cohen_dz=mean / sd,
    )


def _with_wilcoxon(result: PairedComparison, diff: np.ndarray) -> PairedComparison:
    test = wilcoxon_signed_rank(diff)
    if test is None:
        return result
    return replace(result, wilcoxon_w=test[0], p_wilcoxon=test[1])


def wilcoxon_signed_rank(diff: np.ndarray) -> tuple[float, float] | None:
    """Wilcoxon's W (the smaller signed-rank sum, zeros dropped) and its two-sided p.

    The p-value follows SciPy's default choice: exact up to 50 differences without ties or zeros,
    and up to 13 with them; normal approximation (tie-corrected) beyond. The exact distribution
    is counted directly, where SciPy would enumerate up to 2^13 sign patterns.
    """
    # Rounding removes the floating-point residue of equal scores, so that those count as zeros.
    d = np.round(np.asarray(diff, dtype=float), 9)
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return None
    ranks = stats.rankdata(np.abs(nonzero))
    r_plus = float(ranks[nonzero > 0].sum())
    w = min(r_plus, float(ranks.sum()) - r_plus)
    ties = np.unique(ranks).size < ranks.size or nonzero.size < d.size
    if d.size <= 13 or (d.size <= 50 and not ties):
        return w, _exact_signed_rank_p(ranks, r_plus)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = stats.wilcoxon(d, method="asymptotic").pvalue
    return w, float(p)


def _exact_signed_rank_p(ranks: np.ndarray, r_plus: float) -> float:
    """Two-sided p from the exact null distribution of the positive rank sum.

    Each rank is positive or negative with probability 1/2; doubled midranks are whole numbers,
    so the distribution is a count of subset sums (a loop over at most 50 ranks).
    """
    doubled = np.rint(2 * ranks).astype(int)
    counts = np.zeros(int(doubled.sum()) + 1)
    counts[0] = 1.0
    for rank in doubled:
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    share = counts / counts.sum()
    observed = round(2 * r_plus)
    return min(1.0, 2 * min(float(share[: observed + 1].sum()), float(share[observed:].sum())))


def _with_effect_sizes(
    result: PairedComparison, pre: np.ndarray, post: np.ndarray
) -> PairedComparison:
    n = pre.size
    if result.cohen_dz is not None:
        interval = noncentral_t_ci(result.cohen_dz * math.sqrt(n), n - 1)
        result = replace(result, cohen_dz_ci95=_scale(interval, 1 / math.sqrt(n)))
    sd_pre, sd_post = float(np.std(pre, ddof=1)), float(np.std(post, ddof=1))
    sd_av = (sd_pre + sd_post) / 2
    if sd_av * sd_av <= ZERO_VARIANCE or result.mean_diff is None:
        return result
    d_av = result.mean_diff / sd_av
    result = replace(result, cohen_dav=d_av)
    if min(sd_pre, sd_post) ** 2 <= ZERO_VARIANCE:
        return result
    r = float(np.corrcoef(pre, post)[0, 1])
    if not math.isfinite(r) or 1 - r <= 1e-12:
        return result
    # Algina & Keselman (2003): d_av * sqrt(n / (2(1 - r))) is taken as noncentral t with n - 1 df.
    factor = math.sqrt(n / (2 * (1 - r)))
    interval = noncentral_t_ci(d_av * factor, n - 1)
    return replace(result, cohen_dav_ci95=_scale(interval, 1 / factor))


def _scale(interval: tuple[float, float] | None, factor: float) -> tuple[float, float] | None:
    return None if interval is None else (interval[0] * factor, interval[1] * factor)


def noncentral_t_ci(
    t: float, df: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Confidence limits for the noncentrality parameter of an observed t (Steiger & Fouladi).

    Falls back to the normal approximation t ± z·sqrt(1 + t²/(2df)) where SciPy's noncentral t
    cannot be inverted (extreme t); None when even that is undefined.
    """
    if df < 1 or not math.isfinite(t):
        return None
    tail = (1 - confidence) / 2
    lower, upper = _ncp_where(t, df, 1 - tail), _ncp_where(t, df, tail)
    if lower is not None and upper is not None:
        return lower, upper
    half = float(stats.norm.ppf(1 - tail)) * math.sqrt(1 + t * t / (2 * df))
    return t - half, t + half


def _ncp_where(t: float, df: int, probability: float) -> float | None:
    """The noncentrality at which P(T <= t) = probability (the cdf falls as noncentrality grows)."""

    def gap(ncp: float) -> float:
        cdf = float(stats.nct.cdf(t, df, ncp))
        if not math.isfinite(cdf):
            # SciPy gives NaN far in the tails, where the cdf is 1 (left of t) or 0 (right).
            cdf = 1.0 if ncp < t else 0.0
        return cdf - probability

    spread = 2 * math.sqrt(1 + t * t / (2 * df)) + 2
    for _ in range(10):
        if gap(t - spread) > 0 > gap(t + spread):
            return float(optimize.brentq(gap, t - spread, t + spread, xtol=1e-10))
        spread *= 2
    return None


def hake_gains(pre: np.ndarray, post: np.ndarray) -> tuple[float | None, float | None, int]:
    """Hake's class <g> on means, the mean of individual gains, and how many were excluded.

    Individual gains leave out students at 100% on the pre-test, whose gain is undefined.
    """
    if pre.size == 0:
        return None, None, 0
    pre_mean, post_mean = float(pre.mean()), float(post.mean())
    g_class = (post_mean - pre_mean) / (100 - pre_mean) if pre_mean < FULL_MARKS else None
    below = pre < FULL_MARKS
    excluded = int(pre.size - below.sum())
    if not below.any():
        return g_class, None, excluded
    gains = (post[below] - pre[below]) / (100 - pre[below])
    return g_class, float(gains.mean()), excluded


# --- Item analysis --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ItemStatistics:
    """Per-item figures of one phase, aligned with the matrix's items; NaN where undefined."""

    n: np.ndarray
    facility: np.ndarray
    sd: np.ndarray
    discrimination: np.ndarray
    discriminative_efficiency: np.ndarray
    point_biserial: np.ndarray
    upper_lower: np.ndarray
    upper_lower_group: int


def item_statistics(matrix: PhaseMatrix) -> ItemStatistics:
    """Moodle's item statistics, plus the item-total point-biserial and the upper-lower 27% index.

    Each item's figures use the students with a mark on it; ``rest`` is their total minus the item.
    """
    mask, marks, maxima = matrix.marked, matrix.filled, matrix.max_points
    n = mask.sum(axis=0).astype(float)
    mean_item, item = _centred(marks, mask, n)
    _, rest = _centred(matrix.totals[:, None] - marks, mask, n)
    var_item = _per_pair((item * item).sum(axis=0), n)
    var_rest = _per_pair((rest * rest).sum(axis=0), n)
    cov_rest = _per_pair((item * rest).sum(axis=0), n)
    # total = item + rest, so its moments follow without another pass over the matrix.
    var_total = var_item + var_rest + 2 * cov_rest
    cov_total = var_item + cov_rest
    upper_lower, group = _upper_lower(matrix)
    return ItemStatistics(
        n=n.astype(int),
        facility=_divide(mean_item, maxima, n > 0),
        sd=np.sqrt(var_item) / maxima,
        discrimination=_correlation(cov_rest, var_item, var_rest),
        discriminative_efficiency=_efficiency(item, rest, mask, n, cov_rest),
        point_biserial=_correlation(cov_total, var_item, var_total),
        upper_lower=upper_lower,
        upper_lower_group=group,
    )


def _efficiency(
    item: np.ndarray, rest: np.ndarray, mask: np.ndarray, n: np.ndarray, cov: np.ndarray
) -> np.ndarray:
    """Cov(item, rest) over the largest covariance those marks allow: sorted marks against sorted rest.

    Takes the centred marks and rest (sorting does not change their means).
    """
    if mask.all():
        best = (np.sort(item, axis=0) * np.sort(rest, axis=0)).sum(axis=0)
    else:
        # NaN sorts last, so each column's marked values line up at the top of both sorted arrays.
        sorted_item = np.sort(np.where(mask, item, np.nan), axis=0)
        sorted_rest = np.sort(np.where(mask, rest, np.nan), axis=0)
        best = np.nansum(sorted_item * sorted_rest, axis=0)
    cov_max = _per_pair(best, n)
    return _divide(cov, cov_max, cov_max > ZERO_VARIANCE)


def ranking(matrix: PhaseMatrix) -> np.ndarray:
    """Rows of the scored students from lowest to highest percentage (ties keep row order)."""
    rows = np.flatnonzero(matrix.scored)
    return rows[np.argsort(matrix.percent[rows], kind="stable")]


def upper_lower_size(n: int) -> int:
    """Students in each of the upper and lower groups: 27% of n, rounded, at least 1 (n >= 2)."""
    return max(1, math.floor(UPPER_LOWER_SHARE * n + 0.5)) if n >= 2 else 0


def _upper_lower(matrix: PhaseMatrix) -> tuple[np.ndarray, int]:
    order = ranking(matrix)
    size = upper_lower_size(order.size)
    if size == 0:
        return np.full(len(matrix.items), np.nan), 0
    lower = _group_facility(matrix, order[:size])
    upper = _group_facility(matrix, order[-size:])
    return upper - lower, size


def _group_facility(matrix: PhaseMatrix, rows: np.ndarray) -> np.ndarray:
    counts = matrix.marked[rows].sum(axis=0)
    sums = matrix.filled[rows].sum(axis=0)
    return _divide(sums, counts * matrix.max_points, counts > 0)


def item_flags(
    facility: float | None, discrimination: float | None, efficiency: float | None
) -> list[str]:
    """The review flags of an item (thresholds in docs/statistics.md, "Flags")."""
    flags = []
    if facility is not None and facility >= TOO_EASY:
        flags.append("too_easy")
    if facility is not None and facility <= TOO_HARD:
        flags.append("too_hard")
    if discrimination is not None and discrimination < 0:
        flags.append("negative_discrimination")
    elif discrimination is not None and discrimination < WEAK_DISCRIMINATION:
        flags.append("weak_discrimination")
    if efficiency is not None and efficiency < LOW_EFFICIENCY:
        flags.append("low_efficiency")
    return flags


# --- Reliability ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Reliability:
    """Cronbach's alpha over the students with a mark on every item (``n`` of them).

    ``method`` is "kr20" when every mark is 0 or full (then alpha is KR-20); ``sem`` is in percent.
    """

    n: int
    method: str
    alpha: float | None
    error_ratio: float | None
    sem: float | None
    alpha_if_deleted: np.ndarray


def reliability(matrix: PhaseMatrix) -> Reliability:
    """Alpha (KR-20 for 0/1 marks), alpha if deleted, error ratio and SEM of one phase."""
    complete = matrix.marked.all(axis=1) & matrix.scored
    marks = matrix.scores[complete]
    m, k = marks.shape
    method = "kr20" if _dichotomous(matrix) else "alpha"
    undefined = np.full(k, np.nan)
    if m < 2 or k < 2:
        return Reliability(m, method, None, None, None, undefined)
    item_var = marks.var(axis=0, ddof=1)
    total = marks.sum(axis=1)
    total_var = float(total.var(ddof=1))
    if total_var <= ZERO_VARIANCE:
        return Reliability(m, method, None, None, None, undefined)
    alpha = k / (k - 1) * (1 - item_var.sum() / total_var)
    error_ratio = math.sqrt(1 - alpha)
    sd_percent = 100 * math.sqrt(total_var) / float(matrix.max_points.sum())
    deleted = _alpha_if_deleted(marks, total, item_var, total_var)
    return Reliability(m, method, alpha, error_ratio, sd_percent * error_ratio, deleted)


def _alpha_if_deleted(
    marks: np.ndarray, total: np.ndarray, item_var: np.ndarray, total_var: float
) -> np.ndarray:
    """Alpha of the other k - 1 items, for every item at once: var(T - x) = var T + var x - 2 cov."""
    m, k = marks.shape
    if k < 3:
        return np.full(k, np.nan)
    centred = marks - marks.mean(axis=0)
    cov_total = np.einsum("ik,i->k", centred, total - total.mean()) / (m - 1)
    rest_var = total_var + item_var - 2 * cov_total
    ratio = _divide(item_var.sum() - item_var, rest_var, rest_var > ZERO_VARIANCE)
    return (k - 1) / (k - 2) * (1 - ratio)


def _dichotomous(matrix: PhaseMatrix) -> bool:
    """Every mark is 0 or full: then alpha is KR-20."""
    marks = matrix.filled
    tolerance = 1e-9 * matrix.max_points
    either = (np.abs(marks) <= tolerance) | (np.abs(marks - matrix.max_points) <= tolerance)
    return bool(either.all())


# --- Distractors ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Distractors:
    """Shares choosing each option (items x option slots), overall and by score third.

    Shares are of the students with a mark on the item; NaN for slots an item does not have.
    ``point_biserial`` correlates choosing the option with the total score (Canvas).
    """

    share: np.ndarray
    by_third: np.ndarray
    third_n: np.ndarray
    omitted: np.ndarray
    point_biserial: np.ndarray


def distractor_analysis(matrix: PhaseMatrix) -> Distractors | None:
    if matrix.choices is None:
        return None
    mask = matrix.marked
    chosen = matrix.choices.chosen & mask[:, :, None]
    n_students, k, width = chosen.shape
    flat = chosen.reshape(n_students, k * width).astype(float)
    n = mask.sum(axis=0)
    # One pass over the choices: counts by third and the choosers' summed totals. (einsum
    # rather than BLAS: a multi-threaded BLAS can stall for milliseconds on a busy server.)
    weights = np.column_stack([_third_indicators(matrix), matrix.totals])
    sums = np.einsum("is,if->sf", weights, flat).reshape(4, k, width)
    counts = chosen.sum(axis=0)
    third_n = np.einsum("is,ik->sk", weights[:, :3], mask.astype(float))
    slots = np.arange(width)[None, :] < np.array([len(o) for o in matrix.choices.options])[:, None]
    return Distractors(
        share=_divide(counts, n[:, None], slots & (n[:, None] > 0)),
        by_third=_divide(sums[:3], third_n[:, :, None], slots[None] & (third_n[:, :, None] > 0)),
        third_n=third_n.astype(int),
        omitted=_divide((mask & ~_any_option(chosen)).sum(axis=0), n, n > 0),
        point_biserial=np.where(slots, _option_point_biserial(matrix, sums[3], counts, n), np.nan),
    )


def _any_option(chosen: np.ndarray) -> np.ndarray:
    """chosen.any(axis=2), as a few whole-matrix ORs (reducing a short last axis is slow)."""
    found = np.zeros(chosen.shape[:2], dtype=bool)
    for option in range(chosen.shape[2]):
        found |= chosen[:, :, option]
    return found


def _third_indicators(matrix: PhaseMatrix) -> np.ndarray:
    """One row per student, one column per third of the ranking (lower, middle, upper)."""
    order = ranking(matrix)
    indicators = np.zeros((len(matrix.students), 3))
    if order.size:
        indicators[order, (3 * np.arange(order.size)) // order.size] = 1.0
    return indicators


def _option_point_biserial(
    matrix: PhaseMatrix, chooser_totals: np.ndarray, counts: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """Correlation of choosing each option with the total, over the item's students.

    cov = (sum of the choosers' totals - count x mean total) / (n - 1); a choice is 0/1, so its
    variance is p(1 - p) n / (n - 1).
    """
    mean_total, centred = _centred(
        np.broadcast_to(matrix.totals[:, None], matrix.marked.shape), matrix.marked, n
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = _per_pair(chooser_totals - counts * mean_total[:, None], n[:, None])
        share = counts / n[:, None]
        var_choice = share * (1 - share) * (n / (n - 1))[:, None]
    var_total = _per_pair((centred * centred).sum(axis=0), n)
    return _correlation(cov, var_choice, np.broadcast_to(var_total[:, None], cov.shape))


# --- Outcomes, frames, subgroups ------------------------------------------------------------


@dataclass(frozen=True)
class Mastery:
    """Share of item credit earned on a group of items, over the student-item marks behind it."""

    n: int
    items: int
    mastery: float | None


def mastery(matrix: PhaseMatrix, item_group: Mapping[str, str]) -> dict[str, Mastery]:
    """Mastery per group (outcome or frame) of the matrix's items; items in no group are left out."""
    groups = list(dict.fromkeys(item_group[i] for i in matrix.items if i in item_group))
    if not groups:
        return {}
    member = np.zeros((len(matrix.items), len(groups)))
    index = {g: c for c, g in enumerate(groups)}
    for j, item in enumerate(matrix.items):
        if item in item_group:
            member[j, index[item_group[item]]] = 1.0
    mask = matrix.marked.astype(float)
    credit = (matrix.filled.sum(axis=0) / matrix.max_points) @ member
    marks = mask.sum(axis=0) @ member
    students = (np.einsum("ik,kg->ig", mask, member) > 0).sum(axis=0)
    items = member.sum(axis=0)
    return {
        g: Mastery(
            int(students[c]), int(items[c]), float(credit[c] / marks[c]) if marks[c] else None
        )
        for g, c in index.items()
    }


def group_labels(labels: Sequence[str | None] | None, size: int) -> np.ndarray:
    """Labels as an array, ``unknown`` for missing ones, so that the groups cover every student."""
    if labels is None:
        return np.full(size, UNKNOWN_GROUP, dtype=object)
    return np.array([UNKNOWN_GROUP if v is None else str(v) for v in labels], dtype=object)


def subgroup_descriptives(percent: np.ndarray, labels: np.ndarray) -> dict[str, Descriptives]:
    scored = ~np.isnan(percent)
    return {
        str(g): describe(percent[scored & (labels == g)])
        for g in sorted(set(labels[scored].tolist()))
    }


def subgroup_paired(
    pre: np.ndarray, post: np.ndarray, labels: np.ndarray
) -> dict[str, PairedComparison]:
    return {
        str(g): compare_paired(pre[labels == g], post[labels == g], full=False)
        for g in sorted(set(labels.tolist()))
    }


def pair_labels(pre_labels: np.ndarray, post_labels: np.ndarray) -> np.ndarray:
    """A pair's group: the label both attempts share, else ``mixed`` (so groups partition the pairs)."""
    return np.where(pre_labels == post_labels, pre_labels, MIXED_GROUP)


def attendance_labels(students: Sequence[str], attendance: Mapping[str, bool | None]) -> np.ndarray:
    names = {True: "attended", False: "not_attended", None: UNKNOWN_GROUP}
    return np.array([names[attendance.get(s)] for s in students], dtype=object)


# --- The report document --------------------------------------------------------------------


def _pct(value: Any) -> float | None:
    """Percentages and percentage points: two decimals."""
    number = _finite(value)
    return None if number is None else round(number, 2) + 0.0


def _frac(value: Any) -> float | None:
    """Proportions, correlations, effect sizes and test statistics: four decimals."""
    number = _finite(value)
    return None if number is None else round(number, 4) + 0.0


def _p(value: Any) -> float | None:
    """p-values: four significant digits, so that small ones survive."""
    number = _finite(value)
    return None if number is None else float(f"{number:.4g}")


def _interval(interval: tuple[float, float] | None, rounding: Any) -> list[float | None] | None:
    return None if interval is None else [rounding(interval[0]), rounding(interval[1])]


def _unsuppressed() -> dict[str, Any]:
    return {"suppressed": False, "suppressed_reason": None, "suppressed_keys": []}


def phase_block(matrix: PhaseMatrix | None, rel: Reliability | None) -> dict[str, Any]:
    d = describe(matrix.percent) if matrix is not None else describe(np.array([]))
    edges = HISTOGRAM_EDGES.astype(int).tolist()
    return {
        "n": d.n,
        "items": len(matrix.items) if matrix is not None else 0,
        "max_points": _frac(matrix.max_points.sum()) if matrix is not None else None,
        "mean": _pct(d.mean),
        "sd": _pct(d.sd),
        "median": _pct(d.median),
        "q1": _pct(d.q1),
        "q3": _pct(d.q3),
        "min": _pct(d.minimum),
        "max": _pct(d.maximum),
        "histogram": [
            {"from": edges[b], "to": edges[b + 1], "count": c} for b, c in enumerate(d.histogram)
        ],
        "reliability_method": rel.method if rel else None,
        "alpha": _frac(rel.alpha) if rel else None,
        "alpha_n": rel.n if rel else 0,
        "error_ratio": _frac(rel.error_ratio) if rel else None,
        "sem": _pct(rel.sem) if rel else None,
        **_unsuppressed(),
    }


def paired_block(result: PairedComparison) -> dict[str, Any]:
    return {
        "n": result.n,
        "pre_mean": _pct(result.pre_mean),
        "post_mean": _pct(result.post_mean),
        "mean_diff": _pct(result.mean_diff),
        "sd_diff": _pct(result.sd_diff),
        "ci95": _interval(result.ci95, _pct),
        "t": _frac(result.t),
        "df": result.df,
        "p_t": _p(result.p_t),
        "wilcoxon_w": _frac(result.wilcoxon_w),
        "p_wilcoxon": _p(result.p_wilcoxon),
        "cohen_dz": _frac(result.cohen_dz),
        "cohen_dz_ci95": _interval(result.cohen_dz_ci95, _frac),
        "cohen_dav": _frac(result.cohen_dav),
        "cohen_dav_ci95": _interval(result.cohen_dav_ci95, _frac),
        "hake_g_class": _frac(result.hake_g_class),
        "hake_g_mean": _frac(result.hake_g_mean),
        "hake_g_mean_n": result.n - result.hake_excluded,
        "hake_excluded": result.hake_excluded,
        **_unsuppressed(),
    }


def subgroup_paired_block(group: str, result: PairedComparison) -> dict[str, Any]:
    block = paired_block(result)
    for key in ("wilcoxon_w", "p_wilcoxon", "cohen_dz_ci95", "cohen_dav", "cohen_dav_ci95"):
        del block[key]
    return {"group": group, **block}


def subgroup_phase_block(group: str, d: Descriptives) -> dict[str, Any]:
    return {
        "group": group,
        "n": d.n,
        "mean": _pct(d.mean),
        "sd": _pct(d.sd),
        "median": _pct(d.median),
        **_unsuppressed(),
    }


def item_blocks(matrix: PhaseMatrix, rel: Reliability) -> list[dict[str, Any]]:
    s = item_statistics(matrix)
    distractors = distractor_analysis(matrix)
    blocks = []
    for j, question in enumerate(matrix.items):
        facility, discrimination = _frac(s.facility[j]), _frac(s.discrimination[j])
        efficiency = _frac(s.discriminative_efficiency[j])
        blocks.append(
            {
                "phase": matrix.phase,
                "question": question,
                "n": int(s.n[j]),
                "max_points": _frac(matrix.max_points[j]),
                "facility": facility,
                "sd": _frac(s.sd[j]),
                "discrimination": discrimination,
                "discriminative_efficiency": efficiency,
                "point_biserial": _frac(s.point_biserial[j]),
                "upper_lower": _frac(s.upper_lower[j]),
                "upper_lower_group_n": s.upper_lower_group,
                "alpha_if_deleted": _frac(rel.alpha_if_deleted[j]),
                "alpha_n": rel.n,
                "flags": item_flags(facility, discrimination, efficiency),
                **_option_fields(matrix, distractors, j),
                **_unsuppressed(),
            }
        )
    return blocks


def _option_fields(matrix: PhaseMatrix, d: Distractors | None, j: int) -> dict[str, Any]:
    if d is None or matrix.choices is None or not matrix.choices.options[j]:
        return {"omitted": None, "third_n": None, "options": []}
    keys = matrix.choices.keys[j]
    options = [
        {
            "option": option,
            "key": option in keys,
            "share": _frac(d.share[j, o]),
            "point_biserial": _frac(d.point_biserial[j, o]),
            "by_third": {name: _frac(d.by_third[t, j, o]) for t, name in enumerate(THIRDS)},
        }
        for o, option in enumerate(matrix.choices.options[j])
    ]
    return {
        "omitted": _frac(d.omitted[j]),
        "third_n": {name: int(d.third_n[t, j]) for t, name in enumerate(THIRDS)},
        "options": options,
    }


def mastery_cell(m: Mastery | None) -> dict[str, Any]:
    if m is None:
        return {"n": 0, "items": 0, "mastery": None, **_unsuppressed()}
    return {"n": m.n, "items": m.items, "mastery": _frac(m.mastery), **_unsuppressed()}


def outcome_blocks(
    phases: Mapping[str, PhaseMatrix], outcomes: OutcomeMap
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    item_frame = {
        item: outcomes.outcome_frame[o]
        for item, o in outcomes.item_outcome.items()
        if o in outcomes.outcome_frame
    }
    by_outcome = {p: mastery(m, outcomes.item_outcome) for p, m in phases.items()}
    by_frame = {p: mastery(m, item_frame) for p, m in phases.items()}
    outcome_rows = [
        {
            "outcome": o,
            "frame": outcomes.outcome_frame.get(o),
            **{p: mastery_cell(by_outcome.get(p, {}).get(o)) for p in PHASES},
        }
        for o in _present(by_outcome)
    ]
    frame_rows = [
        {
            "frame": f,
            "outcomes": sum(1 for row in outcome_rows if row["frame"] == f),
            **{p: mastery_cell(by_frame.get(p, {}).get(f)) for p in PHASES},
        }
        for f in _present(by_frame)
    ]
    return outcome_rows, frame_rows


def _present(per_phase: Mapping[str, Mapping[str, Mastery]]) -> list[str]:
    return list(dict.fromkeys(g for p in PHASES for g in per_phase.get(p, {})))


def participation_block(
    counts: Mapping[str, int], enrolled: int | None, started: int | None
) -> dict[str, Any]:
    def rate(count: int) -> float | None:
        return _frac(count / enrolled) if enrolled else None

    return {
        "enrolled": enrolled,
        "started": started,
        "completed_pre": counts["pre"],
        "completed_post": counts["post"],
        "matched_pairs": counts["matched"],
        "completion_rate_pre": rate(counts["pre"]),
        "completion_rate_post": rate(counts["post"]),
        "matched_rate": rate(counts["matched"]),
    }


@dataclass(frozen=True)
class _Pairs:
    """The matched students' scores and labels, aligned."""

    matched: Matched
    pre: np.ndarray
    post: np.ndarray


def _pairs(pre: PhaseMatrix | None, post: PhaseMatrix | None) -> _Pairs:
    if pre is None or post is None:
        empty = np.array([], dtype=int)
        return _Pairs(Matched((), empty, empty), np.array([]), np.array([]))
    matched = match_students(pre, post)
    return _Pairs(matched, pre.percent[matched.pre_rows], post.percent[matched.post_rows])


def _subgroups(
    phases: Mapping[str, PhaseMatrix],
    pairs: _Pairs,
    attendance: Mapping[str, bool | None] | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if any(m.languages is not None for m in phases.values()):
        labels = {p: group_labels(m.languages, len(m.students)) for p, m in phases.items()}
        result["language"] = _grouping(phases, pairs, labels)
    if attendance is not None:
        labels = {p: attendance_labels(m.students, attendance) for p, m in phases.items()}
        result["attendance"] = _grouping(phases, pairs, labels)
    return result


def _grouping(
    phases: Mapping[str, PhaseMatrix], pairs: _Pairs, labels: Mapping[str, np.ndarray]
) -> dict[str, Any]:
    grouping: dict[str, Any] = {}
    for phase in PHASES:
        matrix = phases.get(phase)
        cells = {} if matrix is None else subgroup_descriptives(matrix.percent, labels[phase])
        grouping[phase] = [subgroup_phase_block(g, d) for g, d in cells.items()]
    paired: dict[str, PairedComparison] = {}
    if pairs.matched.students:
        paired_labels = pair_labels(
            labels["pre"][pairs.matched.pre_rows], labels["post"][pairs.matched.post_rows]
        )
        paired = subgroup_paired(pairs.pre, pairs.post, paired_labels)
    grouping["paired"] = [subgroup_paired_block(g, r) for g, r in paired.items()]
    return grouping


def _student_rows(
    phases: Mapping[str, PhaseMatrix], names: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """Per-student scores (the only per-student loop: it builds output rows, not statistics)."""
    scores: dict[str, dict[str, Any]] = {}
    for phase, matrix in phases.items():
        percent = matrix.percent
        languages = matrix.languages or (None,) * len(matrix.students)
        for row in np.flatnonzero(matrix.scored):
            student = matrix.students[row]
            entry = scores.setdefault(student, {"student": student})
            entry[phase] = _pct(percent[row])
            entry[f"language_{phase}"] = languages[row]
    rows = []
    for student in sorted(scores):
        entry = scores[student]
        pre, post = entry.get("pre"), entry.get("post")
        g = None
        if pre is not None and post is not None and pre < FULL_MARKS:
            g = _frac((post - pre) / (100 - pre))
        row = {
            "student": student,
            "pre": pre,
            "post": post,
            "gain": _pct(post - pre) if pre is not None and post is not None else None,
            "hake_g": g,
            "language_pre": entry.get("language_pre"),
            "language_post": entry.get("language_post"),
        }
        if names is not None:
            row["name"] = names.get(student)
        rows.append(row)
    return rows


def build_report(
    pre: PhaseMatrix | None,
    post: PhaseMatrix | None,
    *,
    enrolled: int | None = None,
    started: int | None = None,
    outcomes: OutcomeMap | None = None,
    attendance: Mapping[str, bool | None] | None = None,
    include_students: bool = False,
    names: Mapping[str, str] | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The report document (docs/report-schema.md): JSON-ready, no NaN, nothing suppressed yet.

    ``attendance`` maps students to whether they attended the linked info session (None: unknown);
    without it there is no attendance breakdown. Pass the result to ``privacy.suppress`` before
    showing it to faculty.
    """
    phases = {p: m for p, m in (("pre", pre), ("post", post)) if m is not None}
    for phase, matrix in phases.items():
        if matrix.phase != phase:
            raise ValueError(f"the {phase} matrix says it is {matrix.phase}")
    pairs = _pairs(pre, post)
    rel = {p: reliability(m) for p, m in phases.items()}
    outcome_rows, frame_rows = outcome_blocks(phases, outcomes or OutcomeMap({}))
    counts = {p: int(phases[p].scored.sum()) if p in phases else 0 for p in PHASES}
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "min_n": None,
        "deidentified": False,
        "participation": participation_block(
            {**counts, "matched": len(pairs.matched.students)}, enrolled, started
        ),
        **{p: phase_block(phases.get(p), rel.get(p)) for p in PHASES},
        "paired": paired_block(compare_paired(pairs.pre, pairs.post)),
        "items": [block for p, m in phases.items() for block in item_blocks(m, rel[p])],
        "outcomes": outcome_rows,
        "frames": frame_rows,
        "subgroups": _subgroups(phases, pairs, attendance),
        "warnings": list(warnings),
    }
    if include_students:
        rows = _student_rows(phases, names)
        report["students"] = {"n": len(rows), "rows": rows, **_unsuppressed()}
    return report
