"""Server-side SVG charts for reports, from plain data: the same markup in the dashboard and the PDF.

Everything is drawn with presentation attributes, never CSS classes (WeasyPrint does not apply page
CSS inside inline SVG). Each chart has ``role="img"``, a ``<title>`` and a ``<desc>``; the two
phases differ by pattern and marker shape as well as by colour, and values are written next to
bars and points, so that a chart reads in greyscale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
#: "ILMS Sans" is the PDF's own face (ilms/pdf.py), so charts embed no second font; browsers fall back.
FONT = "ILMS Sans, DejaVu Sans, Noto Sans, Arial, sans-serif"
INK = "#1b1b1b"
MUTED = "#4a4a4a"
ACCENT = "#0b4f8a"
GRID = "#9a9a9a"
WHITE = "#ffffff"
#: The look of a series: "hatch" (white with diagonal lines) or "solid" (filled).
STYLES = ("hatch", "solid")
MAX_LABEL = 70  #: characters of a category label drawn; the table beside the chart has them whole
DUMBBELL_LABEL = 22  #: characters of a group's name left of its dumbbell

Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    style: str = "solid"


@dataclass(frozen=True)
class Dumbbell:
    label: str
    start: float
    end: float


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str = ""  #: written beside the point (for points that need attention)


@dataclass(frozen=True)
class PointSeries:
    label: str
    points: Sequence[Point]
    marker: str = "circle"  #: "circle" (open) or "triangle" (filled)


@dataclass(frozen=True)
class Guide:
    """A dashed reference line at ``value`` on the x or y axis, with its meaning written beside it."""

    axis: str
    value: float
    label: str


def _text(value: str) -> str:
    return escape(value, quote=True)


def _short(value: str, limit: int = MAX_LABEL) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(chart_id: str, title: str, desc: str, height: float, body: Sequence[str]) -> Markup:
    cid = _text(chart_id)
    # Every text drawn is escaped on the way in (_text, _label), so the markup is safe.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" width="{WIDTH}" height="{_num(height)}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" font-family="{FONT}" font-size="12" fill="{INK}">'
        f'<title id="{cid}-title">{_text(title)}</title>'
        f'<desc id="{cid}-desc">{_text(desc)}</desc>'
        f"<defs>{_hatch(chart_id)}</defs>" + "".join(body) + "</svg>"
    )


def _hatch(chart_id: str) -> str:
    return (
        f'<pattern id="{_text(chart_id)}-hatch" patternUnits="userSpaceOnUse" width="6" height="6">'
        f'<rect x="0" y="0" width="6" height="6" fill="{WHITE}"/>'
        f'<path d="M0,6 L6,0 M-1.5,1.5 L1.5,-1.5 M4.5,7.5 L7.5,4.5" stroke="{ACCENT}" '
        f'stroke-width="1.6"/></pattern>'
    )


def _fill(chart_id: str, style: str) -> str:
    return f"url(#{_text(chart_id)}-hatch)" if style == "hatch" else ACCENT


def _rect(chart_id: str, x: float, y: float, w: float, h: float, style: str) -> str:
    return (
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" height="{_num(max(h, 0))}" '
        f'fill="{_fill(chart_id, style)}" stroke="{ACCENT}" stroke-width="1"/>'
    )


def _label(x: float, y: float, text: str, anchor: str = "start", size: int = 12) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}">'
        f"{_text(text)}</text>"
    )


def _legend(chart_id: str, series: Sequence[Series], y: float) -> list[str]:
    parts, x = [], 0.0
    for s in series:
        parts.append(_rect(chart_id, x, y - 10, 14, 12, s.style))
        parts.append(_label(x + 20, y, s.label))
        x += 40 + 7.5 * len(s.label)
    return parts


def _marker(kind: str, x: float, y: float) -> str:
    if kind == "triangle":
        return (
            f'<path d="M{_num(x)},{_num(y - 6)} L{_num(x + 6)},{_num(y + 5)} '
            f'L{_num(x - 6)},{_num(y + 5)} Z" fill="{ACCENT}" stroke="{ACCENT}" stroke-width="1"/>'
        )
    if kind == "square":
        return (
            f'<rect x="{_num(x - 5)}" y="{_num(y - 5)}" width="10" height="10" fill="{ACCENT}" '
            f'stroke="{ACCENT}" stroke-width="1"/>'
        )
    return (
        f'<circle cx="{_num(x)}" cy="{_num(y)}" r="5" fill="{WHITE}" stroke="{ACCENT}" '
        f'stroke-width="2"/>'
    )


def _point_legend(entries: Sequence[tuple[str, str]], y: float) -> list[str]:
    parts, x = [], 8.0
    for marker, label in entries:
        parts.append(_marker(marker, x, y - 4))
        parts.append(_label(x + 12, y, label))
        x += 40 + 7.5 * len(label)
    return parts


# --- Charts ---------------------------------------------------------------------------------


def grouped_bars(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    value_format: Format = _num,
) -> Markup:
    """Vertical bars per category, one per series side by side, each with its value above it."""
    left, top, plot_h, bottom = 44.0, 40.0, 190.0, 56.0
    plot_w = WIDTH - left - 8
    values = [v for s in series for v in s.values if v is not None]
    top_value = max([*values, 1.0])
    group = plot_w / max(len(categories), 1)
    bar = min(24.0, (group - 8) / max(len(series), 1))
    body = _legend(chart_id, series, 14)
    body += _axes(left, top, plot_w, plot_h)
    body.append(_label(left - 6, top + 4, value_format(top_value), "end", 10))
    body.append(_label(left - 6, top + plot_h + 4, value_format(0), "end", 10))
    for c, category in enumerate(categories):
        x0 = left + c * group + (group - bar * len(series)) / 2
        for s_index, s in enumerate(series):
            value = s.values[c]
            if value is None:
                continue
            h = plot_h * value / top_value
            x = x0 + s_index * bar
            body.append(_rect(chart_id, x, top + plot_h - h, bar - 2, h, s.style))
            body.append(
                _label(x + bar / 2 - 1, top + plot_h - h - 3, value_format(value), "middle", 10)
            )
        body.append(_label(left + (c + 0.5) * group, top + plot_h + 16, category, "middle", 10))
    body.append(_label(left + plot_w / 2, top + plot_h + 40, x_label, "middle"))
    body.append(_label(left, top - 6, y_label, "start", 10))
    return _svg(chart_id, title, desc, top + plot_h + bottom, body)


def _axes(left: float, top: float, width: float, height: float) -> list[str]:
    return [
        f'<line x1="{_num(left)}" y1="{_num(top + height)}" x2="{_num(left + width)}" '
        f'y2="{_num(top + height)}" stroke="{INK}" stroke-width="1"/>',
        f'<line x1="{_num(left)}" y1="{_num(top)}" x2="{_num(left)}" y2="{_num(top + height)}" '
        f'stroke="{INK}" stroke-width="1"/>',
    ]


def dumbbells(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[Dumbbell],
    *,
    start_label: str,
    end_label: str,
    axis_label: str,
    value_format: Format = _num,
) -> Markup:
    """One row per group: an open circle at the start value joined to a filled square at the end."""
    left, right, top, row_h = 150.0, 120.0, 34.0, 34.0
    plot_w = WIDTH - left - right
    height = top + row_h * len(rows) + 44

    def x_of(value: float) -> float:
        return left + plot_w * min(max(value, 0.0), 100.0) / 100.0

    body = _point_legend([("circle", start_label), ("square", end_label)], 14)
    for tick in (0, 25, 50, 75, 100):
        x = x_of(tick)
        body.append(
            f'<line x1="{_num(x)}" y1="{_num(top)}" x2="{_num(x)}" '
            f'y2="{_num(top + row_h * len(rows))}" stroke="{GRID}" stroke-width="0.5"/>'
        )
        body.append(_label(x, top + row_h * len(rows) + 14, value_format(tick), "middle", 10))
    for r, row in enumerate(rows):
        y = top + row_h * r + row_h / 2
        body.append(_label(0, y + 4, _short(row.label, DUMBBELL_LABEL)))
        body.append(
            f'<line x1="{_num(x_of(row.start))}" y1="{_num(y)}" x2="{_num(x_of(row.end))}" '
            f'y2="{_num(y)}" stroke="{ACCENT}" stroke-width="3"/>'
        )
        body.append(_marker("circle", x_of(row.start), y))
        body.append(_marker("square", x_of(row.end), y))
        summary = f"{value_format(row.start)} → {value_format(row.end)}"
        body.append(_label(WIDTH - right + 10, y + 4, summary))
    body.append(_label(left + plot_w / 2, height - 8, axis_label, "middle"))
    return _svg(chart_id, title, desc, height, body)


def scatter(
    chart_id: str,
    title: str,
    desc: str,
    series: Sequence[PointSeries],
    *,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    guides: Sequence[Guide] = (),
    tick_format: Format = _num,
) -> Markup:
    """Points of several series told apart by marker shape, with dashed reference lines."""
    left, top, plot_w, plot_h = 54.0, 50.0, WIDTH - 74.0, 260.0

    def x_of(value: float) -> float:
        low, high = x_range
        return left + plot_w * (min(max(value, low), high) - low) / (high - low)

    def y_of(value: float) -> float:
        low, high = y_range
        return top + plot_h - plot_h * (min(max(value, low), high) - low) / (high - low)

    legend = [(s.marker, s.label) for s in series]
    body = _point_legend(legend, 14) + _axes(left, top, plot_w, plot_h)
    if y_range[0] < 0 < y_range[1]:
        body.append(
            f'<line x1="{_num(left)}" y1="{_num(y_of(0))}" x2="{_num(left + plot_w)}" '
            f'y2="{_num(y_of(0))}" stroke="{GRID}" stroke-width="0.5"/>'
        )
    for tick in (x_range[0], (x_range[0] + x_range[1]) / 2, x_range[1]):
        body.append(_label(x_of(tick), top + plot_h + 14, tick_format(tick), "middle", 10))
    for tick in (y_range[0], 0.0, y_range[1]):
        body.append(_label(left - 6, y_of(tick) + 4, tick_format(tick), "end", 10))
    for guide in guides:
        body += _guide(guide, x_of, y_of, (left, top, plot_w, plot_h))
    for s in series:
        for point in s.points:
            body.append(_marker(s.marker, x_of(point.x), y_of(point.y)))
            if point.label:
                body.append(_label(x_of(point.x) + 8, y_of(point.y) - 6, point.label, size=10))
    body.append(_label(left + plot_w / 2, top + plot_h + 34, x_label, "middle"))
    body.append(_label(left, top - 10, y_label, "start", 10))
    return _svg(chart_id, title, desc, top + plot_h + 44, body)


def _guide(
    guide: Guide,
    x_of: Callable[[float], float],
    y_of: Callable[[float], float],
    box: tuple[float, float, float, float],
) -> list[str]:
    left, top, width, height = box
    dash = f'stroke="{MUTED}" stroke-width="1" stroke-dasharray="4 3"'
    if guide.axis == "x":
        x = x_of(guide.value)
        return [
            f'<line x1="{_num(x)}" y1="{_num(top)}" x2="{_num(x)}" y2="{_num(top + height)}" {dash}/>',
            _label(x + 3, top + 10, guide.label, size=10),
        ]
    y = y_of(guide.value)
    return [
        f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(left + width)}" y2="{_num(y)}" {dash}/>',
        _label(left + 4, y - 3, guide.label, "start", 10),
    ]


def horizontal_bars(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    axis_label: str,
    maximum: float = 1.0,
    value_format: Format = _num,
) -> Markup:
    """Per category, its name on a line and one bar per series below it, each with its value."""
    left, top, bar_h, label_h, gap = 8.0, 30.0, 14.0, 16.0, 10.0
    plot_w = WIDTH - left - 70
    block = label_h + bar_h * len(series) + gap
    height = top + block * len(categories) + 30
    body = _legend(chart_id, series, 14)
    for c, category in enumerate(categories):
        y = top + block * c
        body.append(_label(left, y + 12, _short(category)))
        for s_index, s in enumerate(series):
            value = s.values[c]
            y_bar = y + label_h + bar_h * s_index
            if value is None:
                body.append(_label(left, y_bar + 11, "–", size=10))
                continue
            w = plot_w * min(max(value, 0.0), maximum) / maximum
            body.append(_rect(chart_id, left, y_bar + 1, w, bar_h - 2, s.style))
            body.append(_label(left + w + 4, y_bar + 11, value_format(value), size=10))
    body.append(_label(left + plot_w / 2, height - 8, axis_label, "middle"))
    return _svg(chart_id, title, desc, height, body)
