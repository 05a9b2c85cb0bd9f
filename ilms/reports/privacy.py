"""Privacy rules for report documents: small-group suppression and de-identification.

The rules are described in docs/statistics.md ("Privacy"); the markers in docs/report-schema.md.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Callable, Iterator
from typing import Any

DEFAULT_MIN_N = 5
MIN_SALT_BYTES = 16
PSEUDONYM_HEX_DIGITS = 16
SMALL = "min_n"
COMPLEMENT = "complement"

#: Keys that describe a block rather than report on students' answers: never suppressed.
#: Counts of students are among them: they say how many students a figure rests on.
STRUCTURAL = frozenset(
    {
        "n",
        "group",
        "phase",
        "question",
        "outcome",
        "frame",
        "outcomes",
        "items",
        "max_points",
        "df",
        "alpha_n",
        "upper_lower_group_n",
        "hake_g_mean_n",
        "third_n",
        "reliability_method",
        "suppressed",
        "suppressed_reason",
        "suppressed_keys",
    }
)
OPTION_FIGURES = ("share", "point_biserial", "by_third")
#: Figures resting on fewer students than their block: (keys, how to count those students).
SUB_FIGURES: dict[str, list[tuple[tuple[str, ...], Callable[[dict[str, Any]], int]]]] = {
    "phase": [(("alpha", "error_ratio", "sem"), lambda b: b["alpha_n"])],
    "item": [
        (("alpha_if_deleted",), lambda b: b["alpha_n"]),
        (("upper_lower",), lambda b: b["upper_lower_group_n"]),
        (("options.by_third",), lambda b: _smallest_third(b)),
    ],
    "paired": [(("hake_g_mean",), lambda b: b["hake_g_mean_n"])],
    "paired_cell": [(("hake_g_mean",), lambda b: b["hake_g_mean_n"])],
}
#: Paired figures from which, with a phase's figures, the unmatched students' mean would follow.
MATCHED_MEANS = ("pre_mean", "post_mean", "mean_diff", "sd_diff", "ci95")


# --- Suppression ----------------------------------------------------------------------------


def suppress(report: dict[str, Any], min_n: int = DEFAULT_MIN_N) -> dict[str, Any]:
    """A copy of ``report`` where every figure resting on 1 to min_n - 1 students is None.

    Also hidden: cells that subtraction would recover (the complement of a hidden subgroup, and the
    matched means when a phase has 1 to min_n - 1 unmatched students) and per-student rows.
    """
    result = copy.deepcopy(report)
    result["min_n"] = min_n
    if min_n <= 1:
        return result
    for kind, block in _blocks(result):
        _hide_small(kind, block, min_n)
    _protect_matched(result, min_n)
    for total, cells in _partitions(result):
        _protect_partition(total, cells, min_n)
    students = result.get("students")
    if students is not None:
        _hide(students, ["rows"], SMALL)
    return result


def _blocks(report: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every block with an ``n``, with its kind."""
    for phase in ("pre", "post"):
        yield "phase", report[phase]
    yield "paired", report["paired"]
    for item in report["items"]:
        yield "item", item
    for row in [*report["outcomes"], *report["frames"]]:
        yield "mastery", row["pre"]
        yield "mastery", row["post"]
    for grouping in report["subgroups"].values():
        for phase in ("pre", "post"):
            for cell in grouping[phase]:
                yield "cell", cell
        for cell in grouping["paired"]:
            yield "paired_cell", cell


def _partitions(
    report: dict[str, Any],
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each list of subgroup cells with the block they add up to."""
    for grouping in report["subgroups"].values():
        for part in ("pre", "post", "paired"):
            yield report[part], grouping[part]


def figures(block: dict[str, Any]) -> list[str]:
    """The keys of a block that report on answers (``options.*`` for the option figures)."""
    keys = [k for k in block if k not in STRUCTURAL and k != "options"]
    if block.get("options"):
        keys += [f"options.{k}" for k in OPTION_FIGURES]
    return keys


def _hide(block: dict[str, Any], keys: list[str], reason: str) -> None:
    for key in keys:
        if key.startswith("options."):
            for option in block["options"]:
                option[key.removeprefix("options.")] = None
        else:
            block[key] = None
    block["suppressed"] = True
    block["suppressed_keys"] = sorted({*block["suppressed_keys"], *keys})
    if block["suppressed_reason"] != SMALL:
        block["suppressed_reason"] = reason


def _smallest_third(item: dict[str, Any]) -> int:
    """The by-third shares of an item rest on its smallest third (0: there are none)."""
    return min(item["third_n"].values()) if item.get("third_n") else 0


def _is_small(count: int, min_n: int) -> bool:
    return 0 < count < min_n


def _hide_small(kind: str, block: dict[str, Any], min_n: int) -> None:
    if _is_small(block["n"], min_n):
        _hide(block, figures(block), SMALL)
        return
    for keys, count in SUB_FIGURES.get(kind, []):
        if _is_small(count(block), min_n):
            _hide(block, list(keys), SMALL)


def _protect_matched(report: dict[str, Any], min_n: int) -> None:
    """Hide the matched means everywhere if any phase block exceeds its matched part by 1..min_n-1.

    Its unmatched students' mean would follow: (n·mean - n_matched·matched mean) / (n - n_matched).
    Hiding them in every paired block keeps subgroup cells from rebuilding the total's.
    """
    paired_blocks = [report["paired"]]
    nested = [(report[phase], report["paired"]) for phase in ("pre", "post")]
    for grouping in report["subgroups"].values():
        by_group = {cell["group"]: cell for cell in grouping["paired"]}
        paired_blocks += grouping["paired"]
        for phase in ("pre", "post"):
            nested += [(c, by_group[c["group"]]) for c in grouping[phase] if c["group"] in by_group]
    if any(_reveals_unmatched(whole, part, min_n) for whole, part in nested):
        for block in paired_blocks:
            _hide(block, list(MATCHED_MEANS), COMPLEMENT)


def _reveals_unmatched(whole: dict[str, Any], part: dict[str, Any], min_n: int) -> bool:
    return (
        _is_small(whole["n"] - part["n"], min_n)
        and whole.get("mean") is not None
        and any(part.get(key) is not None for key in MATCHED_MEANS)
    )


def _protect_partition(total: dict[str, Any], cells: list[dict[str, Any]], min_n: int) -> None:
    """Complementary suppression: a figure hidden in some cells must not follow from the total.

    While the cells hiding a figure are a single one, or rest on fewer than min_n students together,
    the figure is also hidden in the smallest cell still showing it.
    """
    keys = dict.fromkeys(k for cell in cells for k in figures(cell) if k in total)
    for key in keys:
        while total.get(key) is not None:
            hidden = [c for c in cells if key in c["suppressed_keys"]]
            shown = [c for c in cells if key not in c["suppressed_keys"]]
            together = sum(_count_for(c, key) for c in hidden)
            if not hidden or not shown or (len(hidden) > 1 and together >= min_n):
                break
            smallest = min(shown, key=lambda c: (_count_for(c, key), str(c["group"])))
            _hide(smallest, [key], COMPLEMENT)


def _count_for(block: dict[str, Any], key: str) -> int:
    return block["hake_g_mean_n"] if key == "hake_g_mean" else block["n"]


# --- De-identification ----------------------------------------------------------------------


def pseudonym(student: str, salt: str | bytes) -> str:
    """A stable pseudonym: HMAC-SHA256 of the identifier under the secret salt, truncated."""
    key = salt.encode("utf-8") if isinstance(salt, str) else salt
    if len(key) < MIN_SALT_BYTES:
        raise ValueError(f"the pseudonym salt must be at least {MIN_SALT_BYTES} bytes of secret")
    digest = hmac.new(key, student.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"S-{digest[:PSEUDONYM_HEX_DIGITS]}"


def pseudonymise(report: dict[str, Any], salt: str | bytes) -> dict[str, Any]:
    """A copy of ``report`` for research export: names removed, student identifiers pseudonymised.

    The same identifier and salt always give the same pseudonym, so exports can be joined.
    """
    result = copy.deepcopy(report)
    result["deidentified"] = True
    students = result.get("students")
    rows = students.get("rows") if students else None
    if not rows:
        pseudonym("", salt)  # refuses a weak salt even when there is nothing to replace
        return result
    originals = {row["student"] for row in rows}
    for row in rows:
        row["student"] = pseudonym(str(row["student"]), salt)
        row.pop("name", None)
    if len({row["student"] for row in rows}) != len(originals):
        raise ValueError("two students received the same pseudonym; use a different salt")
    return result
