"""Suppression of small groups (property-tested) and de-identification of report documents."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ilms.reports.privacy import MATCHED_MEANS, pseudonym, pseudonymise, suppress
from ilms.reports.stats import Choices, PhaseMatrix, build_report

SALT = "a-research-salt-of-some-length"
LANGUAGES = ["en", "ru", "kk", None]


def cohort(
    seed: int,
    n: int,
    k: int = 3,
    dropped: int = 0,
    languages: list | None = None,
    post_languages: list | None = None,
    attendance: bool = False,
    with_choices: bool = True,
    include_students: bool = False,
    ungraded: float = 0.0,
) -> dict[str, Any]:
    """A report on n pre-test students of whom ``dropped`` did not take the post-test.

    A share ``ungraded`` of the pre-test marks is missing (open responses not graded yet).
    """
    rng = np.random.default_rng(seed)
    students = [f"s{i}" for i in range(n)]
    pre_scores = rng.integers(0, 2, (n, k)).astype(float)
    pre_scores[rng.random((n, k)) < ungraded] = np.nan
    post_scores = np.fmax(pre_scores, rng.integers(0, 2, (n, k)))[: n - dropped]
    choices = None
    if with_choices:
        chosen = np.zeros((n, k, 3), dtype=bool)
        chosen[np.arange(n)[:, None], np.arange(k), rng.integers(0, 3, (n, k))] = True
        keys = tuple(frozenset({"a"}) for _ in range(k))
        choices = Choices(tuple(("a", "b", "c") for _ in range(k)), keys, chosen)
    items = [f"q{j}" for j in range(k)]
    pre = PhaseMatrix("pre", students, items, np.ones(k), pre_scores, languages, choices)
    post = PhaseMatrix(
        "post", students[: n - dropped], items, np.ones(k), post_scores, post_languages
    )
    return build_report(
        pre,
        post,
        attendance={s: i % 2 == 0 for i, s in enumerate(students)} if attendance else None,
        include_students=include_students,
    )


# --- Properties -----------------------------------------------------------------------------
# The checks walk the document on their own (not through privacy's helpers), so that a block the
# privacy module forgets is still checked.

NOT_FIGURES = {
    "n", "group", "phase", "question", "outcome", "frame", "outcomes", "items", "max_points", "df",
    "alpha_n", "upper_lower_group_n", "hake_g_mean_n", "third_n", "reliability_method",
    "suppressed", "suppressed_reason", "suppressed_keys", "options",
}  # fmt: skip
SUB_FIGURES = {
    "phase": [({"alpha", "error_ratio", "sem"}, lambda b: b["alpha_n"])],
    "item": [
        ({"alpha_if_deleted"}, lambda b: b["alpha_n"]),
        ({"upper_lower"}, lambda b: b["upper_lower_group_n"]),
        ({"options.by_third"}, lambda b: min(b["third_n"].values()) if b["third_n"] else 0),
    ],
    "paired": [({"hake_g_mean"}, lambda b: b["hake_g_mean_n"])],
}


def figure_keys(block: dict[str, Any]) -> set[str]:
    keys = {k for k in block if k not in NOT_FIGURES}
    if block.get("options"):
        keys |= {"options.share", "options.point_biserial", "options.by_third"}
    return keys


def blocks(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [("phase", report["pre"]), ("phase", report["post"]), ("paired", report["paired"])]
    found += [("item", item) for item in report["items"]]
    found += [
        ("mastery", row[p])
        for row in report["outcomes"] + report["frames"]
        for p in ("pre", "post")
    ]
    for grouping in report["subgroups"].values():
        found += [("cell", cell) for p in ("pre", "post") for cell in grouping[p]]
        found += [("paired", cell) for cell in grouping["paired"]]
    return found


def partitions(report: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    return [
        (report[part], grouping[part])
        for grouping in report["subgroups"].values()
        for part in ("pre", "post", "paired")
    ]


def shown(block: dict[str, Any], key: str) -> bool:
    if key.startswith("options."):
        return any(option[key.removeprefix("options.")] is not None for option in block["options"])
    return block[key] is not None


def check_small_blocks_hidden(report: dict[str, Any], min_n: int) -> None:
    for kind, block in blocks(report):
        if 0 < block["n"] < min_n:
            assert block["suppressed"] and block["suppressed_reason"] == "min_n", (kind, block)
            assert not any(shown(block, key) for key in figure_keys(block)), (kind, block)
        for keys, count in SUB_FIGURES.get(kind, []):
            if 0 < count(block) < min_n:
                assert not any(shown(block, key) for key in keys), (kind, keys, block)


def check_hidden_keys_are_none(report: dict[str, Any]) -> None:
    for _, block in blocks(report):
        assert block["suppressed"] == bool(block["suppressed_keys"])
        assert not any(shown(block, key) for key in block["suppressed_keys"])


def check_no_cell_recoverable_by_subtraction(report: dict[str, Any], min_n: int) -> None:
    for total, cells in partitions(report):
        for key in {k for cell in cells for k in figure_keys(cell) if k in total}:
            if total[key] is None:
                continue
            hidden = [c for c in cells if key in c["suppressed_keys"]]
            count = "hake_g_mean_n" if key == "hake_g_mean" else "n"
            together = sum(c[count] for c in hidden)
            # Total minus the shown cells gives the hidden ones together: fine only if that lump
            # is several cells resting on min_n students or more (or is every cell).
            assert (
                not hidden or len(hidden) == len(cells) or (len(hidden) > 1 and together >= min_n)
            )


def check_unmatched_students_not_recoverable(report: dict[str, Any], min_n: int) -> None:
    pairs = [(report[p], report["paired"]) for p in ("pre", "post")]
    for grouping in report["subgroups"].values():
        by_group = {c["group"]: c for c in grouping["paired"]}
        for phase in ("pre", "post"):
            pairs += [(c, by_group[c["group"]]) for c in grouping[phase] if c["group"] in by_group]
    for whole, part in pairs:
        if 0 < whole["n"] - part["n"] < min_n and whole["mean"] is not None:
            assert all(part[key] is None for key in MATCHED_MEANS)


def check_only_hides(original: Any, suppressed: Any, path: str = "") -> None:
    """Every value is the original or None; suppression adds markers and changes nothing else."""
    if suppressed is None or path.endswith(("suppressed", "suppressed_reason", "suppressed_keys")):
        return
    if path == "/min_n":
        return
    if isinstance(original, dict):
        assert original.keys() == suppressed.keys(), path
        for key in original:
            check_only_hides(original[key], suppressed[key], f"{path}/{key}")
    elif isinstance(original, list):
        assert len(original) == len(suppressed), path
        for i, (a, b) in enumerate(zip(original, suppressed, strict=True)):
            check_only_hides(a, b, f"{path}/{i}")
    else:
        assert original == suppressed, path


cohorts = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**16),
        "n": st.integers(0, 24),
        "k": st.integers(1, 3),
        "dropped_share": st.floats(0, 1),
        "languages": st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=3),
        "switch": st.integers(0, 3),
        "attendance": st.booleans(),
        "ungraded": st.sampled_from([0.0, 0.0, 0.2]),
    }
)


def draw_report(params: dict[str, Any]) -> dict[str, Any]:
    n = params["n"]
    pool = params["languages"]
    languages = [pool[i % len(pool)] for i in range(n)]
    post_languages = languages.copy()
    for i in range(min(params["switch"], n)):
        post_languages[i] = "en" if post_languages[i] != "en" else "ru"
    dropped = int(params["dropped_share"] * n)
    return cohort(
        params["seed"],
        n,
        params["k"],
        dropped,
        languages,
        post_languages[: n - dropped],
        params["attendance"],
        include_students=True,
        ungraded=params["ungraded"],
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=cohorts, min_n=st.integers(2, 8))
def test_suppression_properties(params, min_n):
    original = draw_report(params)
    hidden = suppress(original, min_n)
    check_small_blocks_hidden(hidden, min_n)
    check_hidden_keys_are_none(hidden)
    check_no_cell_recoverable_by_subtraction(hidden, min_n)
    check_unmatched_students_not_recoverable(hidden, min_n)
    check_only_hides(original, hidden)
    assert hidden["students"]["rows"] is None
    assert suppress(hidden, min_n) == hidden


@settings(max_examples=30, deadline=None)
@given(params=cohorts, min_n=st.integers(0, 1))
def test_min_n_of_one_hides_nothing(params, min_n):
    original = draw_report(params)
    assert suppress(original, min_n) == {**original, "min_n": min_n}


# --- Examples -------------------------------------------------------------------------------


def test_a_small_subgroup_takes_its_complement_with_it():
    report = suppress(cohort(1, 28, languages=["en"] * 25 + ["kk"] * 3), 5)
    assert report["pre"]["mean"] is not None
    en, kk = report["subgroups"]["language"]["pre"]
    assert (kk["mean"], kk["suppressed_reason"]) == (None, "min_n")
    assert (en["mean"], en["suppressed_reason"]) == (None, "complement")
    assert en["n"] == 25  # counts stay: they say how many students a hidden figure rests on


def test_two_small_subgroups_that_together_reach_min_n_protect_each_other():
    languages = ["en"] * 20 + ["kk"] * 4 + ["ru"] * 2
    report = suppress(cohort(2, 26, languages=languages), 5)
    cells = {c["group"]: c for c in report["subgroups"]["language"]["pre"]}
    assert cells["kk"]["mean"] is None and cells["ru"]["mean"] is None
    assert cells["en"]["mean"] is not None


def test_small_subgroups_that_together_stay_small_take_a_third_cell():
    languages = ["en"] * 20 + ["kk"] * 2 + ["ru"] * 1
    report = suppress(cohort(3, 23, languages=languages), 5)
    assert all(c["mean"] is None for c in report["subgroups"]["language"]["pre"])
    assert report["pre"]["mean"] is not None


def test_a_few_unmatched_students_hide_the_matched_means_only():
    report = suppress(cohort(4, 30, dropped=3), 5)
    paired = report["paired"]
    assert (paired["n"], paired["suppressed_reason"]) == (27, "complement")
    assert all(paired[key] is None for key in MATCHED_MEANS)
    assert paired["t"] is not None and paired["hake_g_class"] is not None
    assert report["pre"]["mean"] is not None
    # With five or more unmatched students their mean may be known: nothing is hidden.
    assert suppress(cohort(4, 30, dropped=5), 5)["paired"]["mean_diff"] is not None


def test_an_item_with_few_students_per_third_hides_the_thirds():
    report = suppress(cohort(5, 12), 5)
    item = report["items"][0]
    assert item["facility"] is not None and item["third_n"] == {"lower": 4, "middle": 4, "upper": 4}
    assert all(option["by_third"] is None for option in item["options"])
    assert all(option["share"] is not None for option in item["options"])
    assert item["upper_lower"] is None  # groups of round(0.27 * 12) = 3 students
    assert item["suppressed_keys"] == ["options.by_third", "upper_lower"]


def test_a_tiny_cohort_shows_counts_only():
    report = suppress(cohort(6, 4), 5)
    assert (report["pre"]["n"], report["pre"]["mean"], report["pre"]["histogram"]) == (
        4,
        None,
        None,
    )
    assert report["participation"]["completed_pre"] == 4
    assert all(item["facility"] is None and item["flags"] is None for item in report["items"])
    option = report["items"][0]["options"][0]
    assert (option["option"], option["key"], option["share"]) == ("a", True, None)


def test_pseudonyms_are_stable_keyed_and_replace_names():
    report = cohort(7, 6, include_students=True)
    for row in report["students"]["rows"]:
        row["name"] = "Someone " + row["student"]
    one, two = pseudonymise(report, SALT), pseudonymise(report, SALT)
    other = pseudonymise(report, SALT + "!")
    assert one == two and one["deidentified"] is True
    rows = one["students"]["rows"]
    assert all("name" not in row for row in rows)
    expected = hmac.new(SALT.encode(), b"s0", hashlib.sha256).hexdigest()[:16]
    assert rows[0]["student"] == f"S-{expected}"
    assert {r["student"] for r in rows}.isdisjoint(r["student"] for r in other["students"]["rows"])
    assert report["students"]["rows"][0]["student"] == "s0"  # the original is left alone


def test_pseudonyms_need_a_real_secret():
    with pytest.raises(ValueError, match="16 bytes"):
        pseudonym("s1", "short")
    with pytest.raises(ValueError, match="16 bytes"):
        pseudonymise(cohort(8, 3), "")
