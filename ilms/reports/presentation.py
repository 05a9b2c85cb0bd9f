"""One context for a report, rendered as the HTML dashboard and as the faculty PDF.

It takes the report document (docs/report-schema.md) and gives plain data: sentences, tables and
SVG charts, with every number formatted in the reader's language. Figures hidden by suppression
read "withheld"; undefined ones a dash. Call it inside ``force_locale`` for another language.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.numbers import format_decimal, format_percent
from flask_babel import format_datetime, ngettext, pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ilms.authoring.package import frame_name, language_name
from ilms.reports import charts
from ilms.reports.privacy import suppress
from ilms.reports.stats import LOW_EFFICIENCY, TOO_EASY, TOO_HARD, WEAK_DISCRIMINATION

NOTHING = "–"
#: Cohen's (1988) conventions for the size of a standardised mean difference.
EFFECT_SIZES = ((0.8, "large"), (0.5, "medium"), (0.2, "small"), (0.0, "negligible"))
SIGNIFICANCE = 0.05
FLAG_NAMES = {
    "too_easy": _l("too easy"),
    "too_hard": _l("too hard"),
    "negative_discrimination": _l("negative discrimination"),
    "weak_discrimination": _l("weak discrimination"),
    "low_efficiency": _l("low efficiency"),
}
PHASE_NAMES = {"pre": _l("Pre-test"), "post": _l("Post-test")}


# --- Formatting -----------------------------------------------------------------------------


class Numbers:
    """Numbers as the reader's language writes them."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def count(self, value: int | None) -> str:
        return NOTHING if value is None else format_decimal(value, "#,##0", locale=self.locale)

    def percent(self, value: float | None) -> str:
        """A percentage given as 0 to 100."""
        if value is None:
            return NOTHING
        return format_percent(value / 100, "#,##0.0%", locale=self.locale)

    def whole_percent(self, value: float | None) -> str:
        if value is None:
            return NOTHING
        return format_percent(value / 100, "#,##0%", locale=self.locale)

    def share(self, value: float | None) -> str:
        """A proportion given as 0 to 1, as a percentage."""
        if value is None:
            return NOTHING
        return format_percent(value, "#,##0%", locale=self.locale)

    def points(self, value: float | None) -> str:
        """Percentage points, signed."""
        if value is None:
            return NOTHING
        return format_decimal(value, "+#,##0.0;-#,##0.0", locale=self.locale)

    def decimal(self, value: float | None, digits: int = 2) -> str:
        if value is None:
            return NOTHING
        return format_decimal(value, "#,##0." + "0" * digits, locale=self.locale)

    def p_value(self, value: float | None) -> str:
        if value is None:
            return NOTHING
        if value < 0.001:
            return "< " + format_decimal(0.001, "0.000", locale=self.locale)
        return format_decimal(value, "0.000", locale=self.locale)

    def interval(self, pair: Sequence[float | None] | None, fmt: Callable[[Any], str]) -> str:
        if pair is None or pair[0] is None or pair[1] is None:
            return NOTHING
        return f"{fmt(pair[0])} … {fmt(pair[1])}"


@dataclass(frozen=True)
class Cell:
    text: str
    withheld: bool = False
    numeric: bool = True  #: right-aligned


@dataclass(frozen=True)
class Row:
    header: str
    cells: list[Cell]


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    corner: str  #: the header of the row headers' column
    columns: list[str]
    rows: list[Row]
    kind: str = ""  #: a class for print layout: "label-wide", "items", "students"


@dataclass(frozen=True)
class Figure:
    """A chart with its text alternative (shown under it); its data are the section's tables."""

    id: str
    title: str
    svg: Markup
    alternative: str

    @property
    def data_uri(self) -> str:
        """The SVG as an image URL, for the PDF: WeasyPrint then neither styles nor tags each
        shape of the chart as part of the page, and the image carries its text alternative."""
        return "data:image/svg+xml;base64," + base64.b64encode(str(self.svg).encode()).decode()


@dataclass(frozen=True)
class Section:
    """A part of the report: a heading, a chart (when there is something to draw) and tables."""

    id: str
    title: str
    figure: Figure | None
    tables: list[Table]
    empty: str | None = None  #: why there is no chart, when there is none


def withheld_text() -> str:
    return _("withheld")


def _cell(block: dict[str, Any], key: str, fmt: Callable[[Any], str]) -> Cell:
    """A block's figure, or "withheld" when suppression hid it."""
    if key in block.get("suppressed_keys", ()):
        return Cell(withheld_text(), withheld=True)
    return Cell(fmt(block.get(key)))


# --- Wording --------------------------------------------------------------------------------


def effect_size_word(d: float, direction: str) -> str:
    """Cohen's words for |d|, agreeing with "gain" or "drop" (translators may need both)."""
    size = next(word for limit, word in EFFECT_SIZES if abs(d) >= limit)
    if direction == "up":
        words = {
            "large": pgettext("a gain", "large"),
            "medium": pgettext("a gain", "medium"),
            "small": pgettext("a gain", "small"),
            "negligible": pgettext("a gain", "negligible"),
        }
    else:
        words = {
            "large": pgettext("a drop", "large"),
            "medium": pgettext("a drop", "medium"),
            "small": pgettext("a drop", "small"),
            "negligible": pgettext("a drop", "negligible"),
        }
    return words[size]


def _change_sentence(paired: dict[str, Any], fmt: Numbers) -> str | None:
    """ "Students' scores rose from 48% to 71%; a large, statistically significant gain." """
    d = paired.get("cohen_dav") if paired.get("cohen_dav") is not None else paired.get("cohen_dz")
    p, diff = paired.get("p_t"), paired.get("mean_diff")
    pre, post = (
        fmt.whole_percent(paired.get("pre_mean")),
        fmt.whole_percent(paired.get("post_mean")),
    )
    if d is None or p is None:
        if diff is not None and paired.get("sd_diff") == 0:
            if diff == 0:
                return _("Students' scores did not change: %(pre)s before and after.", pre=pre)
            return _(
                "Every student's score changed by the same %(diff)s percentage points, so the "
                "change cannot be tested for significance.",
                diff=fmt.points(diff),
            )
        return None
    direction = "up" if (diff if diff is not None else d) > 0 else "down"
    size = effect_size_word(d, direction)
    significant = p < SIGNIFICANCE
    if diff is None:  # the matched means are withheld; the test and effect size are not
        templates = {
            ("up", True): _("Students' scores rose; a %(size)s, statistically significant gain."),
            ("up", False): _(
                "Students' scores rose; a %(size)s gain that is not statistically significant."
            ),
            ("down", True): _("Students' scores fell; a %(size)s, statistically significant drop."),
            ("down", False): _(
                "Students' scores fell; a %(size)s drop that is not statistically significant."
            ),
        }
        return templates[(direction, significant)] % {"size": size}
    templates = {
        ("up", True): _(
            "Students' scores rose from %(pre)s to %(post)s; a %(size)s, statistically significant gain."
        ),
        ("up", False): _(
            "Students' scores rose from %(pre)s to %(post)s; a %(size)s gain that is not "
            "statistically significant."
        ),
        ("down", True): _(
            "Students' scores fell from %(pre)s to %(post)s; a %(size)s, statistically significant drop."
        ),
        ("down", False): _(
            "Students' scores fell from %(pre)s to %(post)s; a %(size)s drop that is not "
            "statistically significant."
        ),
    }
    return templates[(direction, significant)] % {"pre": pre, "post": post, "size": size}


def _participation_sentence(report: dict[str, Any], fmt: Numbers) -> str:
    part = report["participation"]
    matched, enrolled = part["matched_pairs"], part["enrolled"]
    if enrolled:
        return ngettext(
            "%(count)s of %(enrolled)s enrolled students took both the pre-test and the post-test.",
            "%(count)s of %(enrolled)s enrolled students took both the pre-test and the post-test.",
            matched,
            count=fmt.count(matched),
            enrolled=fmt.count(enrolled),
        )
    return ngettext(
        "%(count)s student took both the pre-test and the post-test.",
        "%(count)s students took both the pre-test and the post-test.",
        matched,
        count=fmt.count(matched),
    )


def _small_sentences(report: dict[str, Any], min_n: int) -> list[str]:
    """Why there is no change to report, when there is none."""
    paired, part = report["paired"], report["participation"]
    if part["completed_pre"] == 0 and part["completed_post"] == 0:
        return [_("No student has completed a test yet, so there is nothing to report.")]
    if paired["n"] == 0:
        return [_("No student has taken both tests yet, so there is no change to report.")]
    if paired["suppressed_reason"] == "min_n":
        return [
            ngettext(
                "Fewer than %(num)d student has taken both tests. To protect students' privacy, "
                "the change is shown once at least %(num)d have.",
                "Fewer than %(num)d students have taken both tests. To protect students' privacy, "
                "the change is shown once at least %(num)d have.",
                min_n,
            )
        ]
    if paired["n"] < 2:
        return [_("Only one student has taken both tests: too few to measure a change.")]
    return []


def _gain_sentence(paired: dict[str, Any], fmt: Numbers) -> str | None:
    g = paired.get("hake_g_class")
    if g is None or g <= 0:
        return None
    return _(
        "On average they gained %(share)s of what they could still learn "
        "(normalised gain ⟨g⟩ = %(g)s).",
        share=fmt.share(g),
        g=fmt.decimal(g),
    )


def _outcome_sentence(
    outcomes: list[dict[str, Any]], names: dict[str, str], fmt: Numbers
) -> str | None:
    changes = [
        (row["post"]["mastery"] - row["pre"]["mastery"], row)
        for row in outcomes
        if row["pre"]["mastery"] is not None and row["post"]["mastery"] is not None
    ]
    if len(changes) < 2:
        return None
    change, row = max(changes, key=lambda pair: pair[0])
    if change <= 0:
        return None
    return _(
        "The largest gain is in the outcome “%(outcome)s”: mastery rose from %(pre)s to %(post)s.",
        outcome=names.get(row["outcome"], row["outcome"]),
        pre=fmt.share(row["pre"]["mastery"]),
        post=fmt.share(row["post"]["mastery"]),
    )


def _flag_sentence(items: list[dict[str, Any]]) -> str | None:
    flagged = sum(1 for item in items if item["flags"])
    if not flagged:
        return None
    return ngettext(
        "%(num)d of %(items)d items is flagged for review (see the item tables).",
        "%(num)d of %(items)d items are flagged for review (see the item tables).",
        flagged,
        items=len(items),
    )


def summary_sentences(
    report: dict[str, Any], min_n: int, fmt: Numbers, outcome_names: dict[str, str]
) -> list[str]:
    """The plain-language summary: the change first, then who it rests on, then details."""
    sentences = [_participation_sentence(report, fmt)]
    small = _small_sentences(report, min_n)
    if small:
        return [*small, sentences[0]]
    change = _change_sentence(report["paired"], fmt)
    if change:
        sentences.insert(0, change)
    extra = (
        _gain_sentence(report["paired"], fmt),
        _outcome_sentence(report["outcomes"], outcome_names, fmt),
        _flag_sentence(report["items"]),
    )
    return sentences + [s for s in extra if s]


def notices(report: dict[str, Any], min_n: int) -> list[str]:
    """What the reader should know about hidden figures."""
    found = []
    if _any_withheld(report):
        found.append(
            ngettext(
                "Figures that rest on fewer than %(num)d student are withheld to protect "
                "students' privacy; so are figures from which they could be worked out.",
                "Figures that rest on fewer than %(num)d students are withheld to protect "
                "students' privacy; so are figures from which they could be worked out.",
                min_n,
            )
        )
    if "mean_diff" in report["paired"]["suppressed_keys"] and report["paired"]["n"] >= min_n:
        found.append(
            _(
                "The matched students' averages are withheld: together with the class averages "
                "they would reveal the average of the few students who took only one test."
            )
        )
    return found


def _any_withheld(report: dict[str, Any]) -> bool:
    blocks = [report["pre"], report["post"], report["paired"], *report["items"]]
    blocks += [row[p] for row in [*report["outcomes"], *report["frames"]] for p in ("pre", "post")]
    for grouping in report["subgroups"].values():
        blocks += [cell for part in ("pre", "post", "paired") for cell in grouping[part]]
    return any(block["suppressed"] for block in blocks)


# --- Names ----------------------------------------------------------------------------------


def localised(value: Any, locale: str) -> str:
    """A localised text of the module format in ``locale`` (English when missing)."""
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def group_name(group: str) -> str:
    names = {
        "unknown": _("unknown"),
        "mixed": _("different languages"),
        "attended": _("attended the info session"),
        "not_attended": _("did not attend"),
    }
    if group in names:
        return names[group]
    return language_name(group)


# --- Tables ---------------------------------------------------------------------------------


def participation_table(report: dict[str, Any], fmt: Numbers) -> Table:
    part = report["participation"]

    def with_rate(count: int, rate: float | None) -> Cell:
        text = fmt.count(count) if rate is None else f"{fmt.count(count)} ({fmt.share(rate)})"
        return Cell(text)

    rows = [
        Row(_("Enrolled students"), [Cell(fmt.count(part["enrolled"]))]),
        Row(_("Started a test"), [Cell(fmt.count(part["started"]))]),
        Row(
            _("Completed the pre-test"),
            [with_rate(part["completed_pre"], part["completion_rate_pre"])],
        ),
        Row(
            _("Completed the post-test"),
            [with_rate(part["completed_post"], part["completion_rate_post"])],
        ),
        Row(
            _("Took both tests (matched)"), [with_rate(part["matched_pairs"], part["matched_rate"])]
        ),
    ]
    if part["enrolled"] is None:
        rows = rows[2:]
    return Table(
        "participation", _("Participation"), _("Students"), [_("Number")], rows, "label-wide"
    )


def phase_table(report: dict[str, Any], fmt: Numbers) -> Table:
    pre, post = report["pre"], report["post"]

    def row(header: str, key: str, how: Callable[[Any], str]) -> Row:
        return Row(header, [_cell(pre, key, how), _cell(post, key, how)])

    def method(block: dict[str, Any]) -> str:
        return {"kr20": "KR-20", "alpha": "α"}.get(block["reliability_method"] or "", NOTHING)

    return Table(
        "phases",
        _("Scores on each test (percent of the maximum)"),
        _("Figure"),
        [str(PHASE_NAMES["pre"]), str(PHASE_NAMES["post"])],
        [
            Row(_("Students"), [Cell(fmt.count(pre["n"])), Cell(fmt.count(post["n"]))]),
            Row(_("Items"), [Cell(fmt.count(pre["items"])), Cell(fmt.count(post["items"]))]),
            row(_("Mean"), "mean", fmt.percent),
            row(_("Standard deviation"), "sd", fmt.percent),
            row(_("Median"), "median", fmt.percent),
            row(_("Lower quartile"), "q1", fmt.percent),
            row(_("Upper quartile"), "q3", fmt.percent),
            row(_("Lowest"), "min", fmt.percent),
            row(_("Highest"), "max", fmt.percent),
            Row(
                _("Reliability method"),
                [Cell(method(pre), numeric=False), Cell(method(post), numeric=False)],
            ),
            row(_("Reliability (Cronbach's α)"), "alpha", fmt.decimal),
            Row(
                _("Students behind α"),
                [Cell(fmt.count(pre["alpha_n"])), Cell(fmt.count(post["alpha_n"]))],
            ),
            row(_("Standard error of measurement"), "sem", fmt.percent),
        ],
    )


def paired_table(report: dict[str, Any], fmt: Numbers) -> Table:
    p = report["paired"]
    dec = fmt.decimal

    def cell(key: str, how: Callable[[Any], str]) -> Cell:
        return _cell(p, key, how)

    def interval(key: str, how: Callable[[Any], str]) -> Cell:
        return _cell(p, key, lambda pair: fmt.interval(pair, how))

    rows = [
        Row(_("Matched students"), [Cell(fmt.count(p["n"]))]),
        Row(_("Mean before (matched students)"), [cell("pre_mean", fmt.percent)]),
        Row(_("Mean after (matched students)"), [cell("post_mean", fmt.percent)]),
        Row(_("Mean change (percentage points)"), [cell("mean_diff", fmt.points)]),
        Row(
            _("%(level)s confidence interval of the change", level="95%"),
            [interval("ci95", fmt.points)],
        ),
        Row(_("Standard deviation of the changes"), [cell("sd_diff", dec)]),
        Row(_("Paired t"), [cell("t", dec)]),
        Row(_("Degrees of freedom"), [Cell(fmt.count(p["df"]))]),
        Row(_("p (paired t-test)"), [cell("p_t", fmt.p_value)]),
        Row(_("Wilcoxon signed-rank W"), [cell("wilcoxon_w", dec)]),
        Row(_("p (Wilcoxon)"), [cell("p_wilcoxon", fmt.p_value)]),
        Row(_("Cohen's d_z"), [cell("cohen_dz", dec)]),
        Row(
            _("%(level)s confidence interval of d_z", level="95%"), [interval("cohen_dz_ci95", dec)]
        ),
        Row(_("Cohen's d_av"), [cell("cohen_dav", dec)]),
        Row(
            _("%(level)s confidence interval of d_av", level="95%"),
            [interval("cohen_dav_ci95", dec)],
        ),
        Row(_("Normalised gain ⟨g⟩ (class average)"), [cell("hake_g_class", dec)]),
        Row(_("Mean of individual normalised gains"), [cell("hake_g_mean", dec)]),
        Row(
            _("Students at %(score)s on the pre-test (left out of it)", score="100%"),
            [cell("hake_excluded", fmt.count)],
        ),
    ]
    return Table(
        "paired", _("Change for students who took both tests"), _("Figure"), [_("Value")], rows
    )


def histogram_table(report: dict[str, Any], fmt: Numbers) -> Table:
    pre, post = report["pre"]["histogram"], report["post"]["histogram"]
    bins = pre or post or []
    rows = []
    for b, band in enumerate(bins):
        cells = [
            _bin_cell(report["pre"], pre, b, fmt),
            _bin_cell(report["post"], post, b, fmt),
        ]
        rows.append(Row(_band(band, fmt), cells))
    return Table(
        "distribution-data",
        _("Students per score band"),
        _("Score band"),
        [str(PHASE_NAMES["pre"]), str(PHASE_NAMES["post"])],
        rows,
    )


def _bin_cell(
    block: dict[str, Any], bins: list[dict[str, Any]] | None, b: int, fmt: Numbers
) -> Cell:
    if "histogram" in block["suppressed_keys"]:
        return Cell(withheld_text(), withheld=True)
    return Cell(fmt.count(bins[b]["count"]) if bins else NOTHING)


def _band(band: dict[str, Any], fmt: Numbers) -> str:
    return f"{fmt.count(band['from'])}–{fmt.whole_percent(band['to'])}"


def mastery_table(
    table_id: str,
    caption: str,
    corner: str,
    rows: list[dict[str, Any]],
    names: Callable[[dict[str, Any]], str],
    fmt: Numbers,
) -> Table:
    body = []
    for row in rows:
        pre, post = row["pre"], row["post"]
        before, after = _cell(pre, "mastery", fmt.share), _cell(post, "mastery", fmt.share)
        if before.withheld or after.withheld:
            change = Cell(withheld_text(), withheld=True)
        elif pre["mastery"] is not None and post["mastery"] is not None:
            change = Cell(fmt.points(100 * (post["mastery"] - pre["mastery"])))
        else:
            change = Cell(NOTHING)
        items = Cell(f"{fmt.count(pre['items'])} / {fmt.count(post['items'])}")
        body.append(Row(names(row), [items, before, after, change]))
    columns = [_("Items (pre / post)"), _("Before"), _("After"), _("Change (points)")]
    return Table(table_id, caption, corner, columns, body)


def item_table(phase: str, items: list[dict[str, Any]], fmt: Numbers) -> Table:
    """One row per item of a test, with every statistic, the flags and the options chosen."""
    dec = fmt.decimal
    rows = []
    for item in items:
        flags = item["flags"]
        flag_text = (
            withheld_text()
            if "flags" in item["suppressed_keys"]
            else ", ".join(str(FLAG_NAMES[f]) for f in flags or ()) or NOTHING
        )
        rows.append(
            Row(
                item.get("label", item["question"]),
                [
                    Cell(fmt.count(item["n"])),
                    _cell(item, "facility", dec),
                    _cell(item, "discrimination", dec),
                    _cell(item, "discriminative_efficiency", dec),
                    _cell(item, "point_biserial", dec),
                    _cell(item, "upper_lower", dec),
                    _cell(item, "alpha_if_deleted", dec),
                    Cell(flag_text, withheld=flag_text == withheld_text(), numeric=False),
                    Cell(_options_text(item, fmt), numeric=False),
                ],
            )
        )
    columns = [
        _("Students"),
        _("Facility"),
        _("Discrimination"),
        _("Efficiency"),
        _("Point-biserial"),
        _("Upper–lower"),
        _("α if deleted"),
        _("Flags"),
        _("Options chosen (* key)"),
    ]
    caption = _("Items of the pre-test") if phase == "pre" else _("Items of the post-test")
    return Table(f"items-{phase}", caption, _("Item"), columns, rows, "items")


def _options_text(item: dict[str, Any], fmt: Numbers) -> str:
    if not item["options"]:
        return NOTHING
    if "options.share" in item["suppressed_keys"]:
        return withheld_text()
    return " · ".join(
        f"{o['option']}{'*' if o['key'] else ''} {fmt.share(o['share'])}" for o in item["options"]
    )


def subgroup_tables(report: dict[str, Any], fmt: Numbers) -> list[Table]:
    tables = []
    captions = {
        "language": (_("Scores by language of the test"), _("Change by language of the tests")),
        "attendance": (
            _("Scores by attendance of the info session"),
            _("Change by attendance of the info session"),
        ),
    }
    for name, grouping in report["subgroups"].items():
        phase_caption, paired_caption = captions[name]
        tables.append(_subgroup_phase_table(f"{name}-scores", phase_caption, grouping, fmt))
        if grouping["paired"]:
            tables.append(_subgroup_paired_table(f"{name}-change", paired_caption, grouping, fmt))
    return tables


def _subgroup_phase_table(
    table_id: str, caption: str, grouping: dict[str, Any], fmt: Numbers
) -> Table:
    rows = []
    for phase in ("pre", "post"):
        for cell in grouping[phase]:
            rows.append(
                Row(
                    f"{group_name(cell['group'])} — {PHASE_NAMES[phase]}",
                    [
                        Cell(fmt.count(cell["n"])),
                        _cell(cell, "mean", fmt.percent),
                        _cell(cell, "sd", fmt.percent),
                        _cell(cell, "median", fmt.percent),
                    ],
                )
            )
    columns = [_("Students"), _("Mean"), _("Standard deviation"), _("Median")]
    return Table(table_id, caption, _("Group"), columns, rows)


def _subgroup_paired_table(
    table_id: str, caption: str, grouping: dict[str, Any], fmt: Numbers
) -> Table:
    rows = [
        Row(
            group_name(cell["group"]),
            [
                Cell(fmt.count(cell["n"])),
                _cell(cell, "pre_mean", fmt.percent),
                _cell(cell, "post_mean", fmt.percent),
                _cell(cell, "mean_diff", fmt.points),
                _cell(cell, "p_t", fmt.p_value),
                _cell(cell, "cohen_dz", fmt.decimal),
                _cell(cell, "hake_g_class", fmt.decimal),
            ],
        )
        for cell in grouping["paired"]
    ]
    columns = [
        _("Students"),
        _("Before"),
        _("After"),
        _("Change (points)"),
        _("p (paired t-test)"),
        _("Cohen's d_z"),
        _("⟨g⟩"),
    ]
    return Table(table_id, caption, _("Group"), columns, rows)


def student_lines(rows: list[dict[str, Any]], fmt: Numbers) -> list[str]:
    """Each student's scores as one sentence (the PDF's appendix: a line per student is far
    lighter to lay out than a table row of five cells, for hundreds of students)."""
    lines = []
    for row in rows:
        student, pre, post = row["student"], row["pre"], row["post"]
        if pre is not None and post is not None:
            lines.append(
                _(
                    "%(student)s: %(pre)s before, %(post)s after (%(change)s points; normalised "
                    "gain %(gain)s)",
                    student=student,
                    pre=fmt.percent(pre),
                    post=fmt.percent(post),
                    change=fmt.points(row["gain"]),
                    gain=fmt.decimal(row["hake_g"]),
                )
            )
        elif pre is not None:
            lines.append(
                _(
                    "%(student)s: %(pre)s before; no post-test",
                    student=student,
                    pre=fmt.percent(pre),
                )
            )
        else:
            lines.append(
                _(
                    "%(student)s: %(post)s after; no pre-test",
                    student=student,
                    post=fmt.percent(post),
                )
            )
    return lines


# --- Sections: a chart and its data ---------------------------------------------------------


def _no_chart(report: dict[str, Any], min_n: int) -> str:
    if _any_withheld(report):
        return ngettext(
            "There is no chart: the figures rest on fewer than %(num)d student.",
            "There is no chart: the figures rest on fewer than %(num)d students.",
            min_n,
        )
    return _("There is no chart: there are no figures to draw yet.")


def distribution_section(report: dict[str, Any], fmt: Numbers, min_n: int) -> Section:
    title = _("Scores before and after")
    tables = [phase_table(report, fmt), histogram_table(report, fmt)]
    pre, post = report["pre"]["histogram"], report["post"]["histogram"]
    series = [
        charts.Series(str(PHASE_NAMES[phase]), [b["count"] for b in bins], style)
        for phase, bins, style in (("pre", pre, "hatch"), ("post", post, "solid"))
        if bins and report[phase]["n"]
    ]
    if not series:
        return Section("scores", title, None, tables, _no_chart(report, min_n))
    chart_title = _("Score distribution before and after")
    alternative = _distribution_text(report, fmt)
    svg = charts.grouped_bars(
        "chart-distribution",
        chart_title,
        alternative,
        [f"{b['from']}–{b['to']}" for b in (pre or post or [])],
        series,
        x_label=_("Score (percent of the maximum)"),
        y_label=_("Students"),
        value_format=lambda v: fmt.count(int(v)),
    )
    figure = Figure("chart-distribution", chart_title, svg, alternative)
    return Section("scores", title, figure, tables)


def _distribution_text(report: dict[str, Any], fmt: Numbers) -> str:
    parts = []
    for phase in ("pre", "post"):
        bins = report[phase]["histogram"]
        if not bins or not report[phase]["n"]:
            continue
        top = max(bins, key=lambda b: b["count"])
        parts.append(
            _(
                "%(test)s: %(n)s students, mean %(mean)s; the most common band is %(band)s "
                "(%(count)s students).",
                test=PHASE_NAMES[phase],
                n=fmt.count(report[phase]["n"]),
                mean=fmt.percent(report[phase]["mean"]),
                band=_band(top, fmt),
                count=fmt.count(top["count"]),
            )
        )
    return " ".join(parts)


def _change_rows(report: dict[str, Any]) -> list[charts.Dumbbell]:
    blocks = [(_("All matched students"), report["paired"])]
    by_language = report["subgroups"].get("language", {}).get("paired", [])
    if len(by_language) > 1:
        blocks += [(group_name(cell["group"]), cell) for cell in by_language]
    return [
        charts.Dumbbell(label, block["pre_mean"], block["post_mean"])
        for label, block in blocks
        if block["pre_mean"] is not None and block["post_mean"] is not None
    ]


def change_section(report: dict[str, Any], fmt: Numbers, min_n: int) -> Section:
    title = _("Change for the students who took both tests")
    tables = [paired_table(report, fmt)]
    rows = _change_rows(report)
    if not rows:
        reason = _no_chart(report, min_n)
        if report["paired"]["suppressed_reason"] == "complement":
            reason = _(
                "There is no chart: the matched students' averages are withheld (see above)."
            )
        return Section("change", title, None, tables, reason)
    chart_title = _("Mean score of the matched students, before and after")
    alternative = " ".join(
        _(
            "%(group)s: from %(pre)s to %(post)s.",
            group=row.label,
            pre=fmt.percent(row.start),
            post=fmt.percent(row.end),
        )
        for row in rows
    )
    svg = charts.dumbbells(
        "chart-change",
        chart_title,
        alternative,
        rows,
        start_label=_("Before"),
        end_label=_("After"),
        axis_label=_("Mean score (percent of the maximum)"),
        value_format=fmt.whole_percent,
    )
    return Section("change", title, Figure("chart-change", chart_title, svg, alternative), tables)


def printed_item_table(items: list[dict[str, Any]], fmt: Numbers) -> Table:
    """The PDF's item table: one row per item, each statistic before → after, and the flags.

    A cell per statistic rather than per statistic and test: a PDF's cost follows its table
    cells. The other item statistics and the options chosen are in the dashboard and the CSV file.
    """
    by_label: dict[str, dict[str, dict[str, Any]]] = {}
    for item in items:
        by_label.setdefault(item["label"], {})[item["phase"]] = item
    rows = [
        Row(
            label,
            [
                _change_cell(phases, "facility", fmt),
                _change_cell(phases, "discrimination", fmt),
                _flags_cell(phases),
            ],
        )
        for label, phases in by_label.items()
    ]
    columns = [_("Facility, before → after"), _("Discrimination, before → after"), _("Flags")]
    return Table("items", _("Items"), _("Item"), columns, rows, "items")


def _change_cell(phases: dict[str, dict[str, Any]], key: str, fmt: Numbers) -> Cell:
    """An item's figure on the pre-test and on the post-test, in one cell."""
    before, after = (
        _cell(phases[phase], key, fmt.decimal) if phase in phases else Cell(NOTHING)
        for phase in ("pre", "post")
    )
    return Cell(
        _("%(before)s → %(after)s", before=before.text, after=after.text),
        withheld=before.withheld or after.withheld,
    )


def _flags_cell(phases: dict[str, dict[str, Any]]) -> Cell:
    parts = []
    for phase, item in phases.items():
        if "flags" in item["suppressed_keys"]:
            return Cell(withheld_text(), withheld=True, numeric=False)
        if item["flags"]:
            flags = ", ".join(str(FLAG_NAMES[f]) for f in item["flags"])
            parts.append(_("%(test)s: %(flags)s", test=PHASE_NAMES[phase], flags=flags))
    return Cell("; ".join(parts) or NOTHING, numeric=False)


def items_section(
    report: dict[str, Any], fmt: Numbers, min_n: int, *, printed: bool = False
) -> Section:
    title = _("Items")
    by_phase = {p: [i for i in report["items"] if i["phase"] == p] for p in ("pre", "post")}
    if printed:
        tables = [printed_item_table(report["items"], fmt)] if report["items"] else []
    else:
        tables = [item_table(p, items, fmt) for p, items in by_phase.items() if items]
    markers = {"pre": "circle", "post": "triangle"}
    series = [
        charts.PointSeries(
            str(PHASE_NAMES[phase]),
            [
                charts.Point(i["facility"], i["discrimination"], i["label"] if i["flags"] else "")
                for i in items
                if i["facility"] is not None and i["discrimination"] is not None
            ],
            markers[phase],
        )
        for phase, items in by_phase.items()
    ]
    series = [s for s in series if s.points]
    if not series:
        return Section("items", title, None, tables, _no_chart(report, min_n))
    flagged = [i for i in report["items"] if i["flags"]]
    alternative = ngettext(
        "%(num)d of %(items)d items is flagged for review: %(names)s.",
        "%(num)d of %(items)d items are flagged for review: %(names)s.",
        len(flagged),
        items=len(report["items"]),
        names=", ".join(
            _("%(item)s (%(test)s)", item=i["label"], test=PHASE_NAMES[i["phase"]]) for i in flagged
        )
        or NOTHING,
    )
    chart_title = _("Item facility and discrimination")
    svg = charts.scatter(
        "chart-items",
        chart_title,
        alternative,
        series,
        x_label=_("Facility (share of the maximum earned)"),
        y_label=_("Discrimination (correlation with the rest of the test)"),
        x_range=(0.0, 1.0),
        y_range=(-0.5, 1.0),
        guides=[
            charts.Guide("x", TOO_HARD, _("too hard")),
            charts.Guide("x", TOO_EASY, _("too easy")),
            charts.Guide("y", WEAK_DISCRIMINATION, _("weak discrimination below")),
        ],
        tick_format=lambda v: fmt.decimal(v, 1),
    )
    return Section("items", title, Figure("chart-items", chart_title, svg, alternative), tables)


def mastery_section(
    section_id: str,
    title: str,
    chart_title: str,
    table: Table,
    rows: list[dict[str, Any]],
    name: Callable[[dict[str, Any]], str],
    fmt: Numbers,
) -> Section:
    if not rows:
        return Section(
            section_id, title, None, [], _("The module's items have no learning outcomes.")
        )
    if all(r["pre"]["mastery"] is None and r["post"]["mastery"] is None for r in rows):
        return Section(
            section_id, title, None, [table], _("There is no chart: no figures to draw.")
        )
    series = [
        charts.Series(str(PHASE_NAMES["pre"]), [r["pre"]["mastery"] for r in rows], "hatch"),
        charts.Series(str(PHASE_NAMES["post"]), [r["post"]["mastery"] for r in rows], "solid"),
    ]
    alternative = " ".join(
        _(
            "%(name)s: %(pre)s before, %(post)s after.",
            name=name(r),
            pre=fmt.share(r["pre"]["mastery"]),
            post=fmt.share(r["post"]["mastery"]),
        )
        for r in rows
    )
    chart_id = f"chart-{section_id}"
    svg = charts.horizontal_bars(
        chart_id,
        chart_title,
        alternative,
        [name(r) for r in rows],
        series,
        axis_label=_("Mastery (share of item credit earned)"),
        value_format=fmt.share,
    )
    return Section(section_id, title, Figure(chart_id, chart_title, svg, alternative), [table])


# --- The whole context ----------------------------------------------------------------------


def outcome_names(report: dict[str, Any], locale: str) -> dict[str, str]:
    outcomes = (report.get("module") or {}).get("outcomes") or []
    return {o["id"]: localised(o.get("text"), locale) or o["id"] for o in outcomes}


def heading(report: dict[str, Any], locale: str) -> dict[str, str]:
    module = report.get("module") or {}
    subject = ""
    if "cohort" in report:
        subject = report["cohort"]["label"]
    elif "cohorts" in report:
        subject = ngettext("%(num)d cohort", "%(num)d cohorts", len(report["cohorts"]))
        if report.get("term"):
            subject = _("%(cohorts)s, %(term)s", cohorts=subject, term=report["term"])
    elif "source" in report:  # files read by ``analyze``
        subject = " · ".join(source["file"] for source in report["source"].values())
    title = localised(module.get("title"), locale) or _("Responses from files")
    return {"module": title, "subject": subject}


def shown(document: dict[str, Any], labels: dict[str, str] | None, min_n: int) -> dict[str, Any]:
    """The document as a reader sees it: suppressed, each item with its label."""
    report = suppress(document, min_n)
    for item in report["items"]:
        label = (labels or {}).get(item["question"]) or item.get("label") or item["question"]
        item["label"] = label
    return report


def summary_context(
    document: dict[str, Any], labels: dict[str, str] | None, *, min_n: int, locale: str
) -> dict[str, Any]:
    """The plain-language summary and the participation of a report (the cohort overview)."""
    report = shown(document, labels, min_n)
    fmt = Numbers(locale)
    return {
        "heading": heading(report, locale),
        "summary": summary_sentences(report, min_n, fmt, outcome_names(report, locale)),
        "notices": notices(report, min_n),
        "participation": participation_table(report, fmt),
    }


def report_context(
    document: dict[str, Any],
    labels: dict[str, str] | None,
    *,
    min_n: int,
    locale: str,
    computed_at: datetime | None,
    printed: bool = False,
) -> dict[str, Any]:
    """Everything the dashboard and the PDF show of ``document`` (given before suppression).

    ``printed`` (the PDF) gives the items in one short table (facility, discrimination and flags,
    before and after); the dashboard and the CSV file have every item statistic.
    """
    report = shown(document, labels, min_n)
    fmt = Numbers(locale)
    names = outcome_names(report, locale)

    def outcome(row: dict[str, Any]) -> str:
        return names.get(row["outcome"], row["outcome"])

    def frame(row: dict[str, Any]) -> str:
        return frame_name(row["frame"]) if row["frame"] else NOTHING

    outcome_table = mastery_table(
        "outcomes-data",
        _("Mastery of each learning outcome"),
        _("Outcome"),
        report["outcomes"],
        outcome,
        fmt,
    )
    frame_table = mastery_table(
        "frames-data",
        _("Mastery by frame of the ACRL Framework"),
        _("Frame"),
        report["frames"],
        frame,
        fmt,
    )
    return {
        "lang": locale,
        "min_n": min_n,
        "printed": printed,
        "heading": heading(report, locale),
        "computed_at": format_datetime(computed_at, "medium") if computed_at else None,
        "summary": summary_sentences(report, min_n, fmt, names),
        "notices": notices(report, min_n),
        "participation": participation_table(report, fmt),
        "sections": [
            distribution_section(report, fmt, min_n),
            change_section(report, fmt, min_n),
            mastery_section(
                "outcomes",
                _("Learning outcomes"),
                _("Mastery of each learning outcome, before and after"),
                outcome_table,
                report["outcomes"],
                outcome,
                fmt,
            ),
            mastery_section(
                "frames",
                _("Frames of the ACRL Framework"),
                _("Mastery by ACRL frame, before and after"),
                frame_table,
                report["frames"],
                frame,
                fmt,
            ),
            items_section(report, fmt, min_n, printed=printed),
        ],
        "subgroups": subgroup_tables(report, fmt),
        "methods": methods_context(min_n, fmt),
    }


def methods_context(min_n: int, fmt: Numbers) -> dict[str, str]:
    """The thresholds the methods appendix quotes, formatted."""
    return {
        "min_n": fmt.count(min_n),
        "too_easy": fmt.decimal(TOO_EASY),
        "too_hard": fmt.decimal(TOO_HARD),
        "weak": fmt.decimal(WEAK_DISCRIMINATION),
        "efficiency": fmt.decimal(LOW_EFFICIENCY),
        "significance": fmt.decimal(SIGNIFICANCE),
        "small": fmt.decimal(0.2, 1),
        "medium": fmt.decimal(0.5, 1),
        "large": fmt.decimal(0.8, 1),
    }
