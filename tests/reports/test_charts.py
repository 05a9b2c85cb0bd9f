"""The SVG charts: well-formed, accessible (role, title, desc), attributes only, text escaped."""

from __future__ import annotations

import defusedxml.ElementTree as ET
import pytest

from ilms.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quotes"'


def _all_charts(label: str = "Pre-test") -> list[str]:
    series = [
        charts.Series(label, [1, 0, None, 4], "hatch"),
        charts.Series("Post-test", [2, 3, 1, 0]),
    ]
    return [
        charts.grouped_bars(
            "c1", "Title", "Description", ["a", "b", "c", "d"], series, x_label="x", y_label="y"
        ),
        charts.dumbbells(
            "c2",
            "Title",
            "Description",
            [charts.Dumbbell(label, 40.0, 70.0), charts.Dumbbell("Other", 80.0, 60.0)],
            start_label="Before",
            end_label="After",
            axis_label="Score",
        ),
        charts.scatter(
            "c3",
            "Title",
            "Description",
            [
                charts.PointSeries(label, [charts.Point(0.5, 0.3, label)]),
                charts.PointSeries("B", [], "triangle"),
            ],
            x_label="x",
            y_label="y",
            x_range=(0.0, 1.0),
            y_range=(-0.5, 1.0),
            guides=[charts.Guide("x", 0.2, "too hard"), charts.Guide("y", 0.2, "weak")],
        ),
        charts.horizontal_bars(
            "c4", "Title", "Description", [label, "Other"], series, axis_label="Mastery"
        ),
    ]


@pytest.mark.parametrize("index", range(4))
def test_charts_are_accessible_svg(index):
    svg = str(_all_charts()[index])
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Title"
    assert desc is not None and desc.text == "Description"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert root.get("viewBox") and root.get("width") and root.get("height")


@pytest.mark.parametrize("index", range(4))
def test_charts_use_attributes_only(index):
    """WeasyPrint ignores page CSS inside inline SVG: no classes, no style attributes or elements."""
    root = ET.fromstring(str(_all_charts()[index]))
    for element in root.iter():
        assert "class" not in element.attrib
        assert "style" not in element.attrib
        assert element.tag != f"{SVG}style"


def test_series_differ_by_pattern_not_only_colour():
    svg = str(_all_charts()[0])
    assert "url(#c1-hatch)" in svg  # the pre-test bars are hatched
    assert "<pattern" in svg


def test_text_is_escaped():
    for svg in _all_charts(HOSTILE):
        root = ET.fromstring(str(svg))  # still well-formed
        assert "<script>" not in str(svg)
        assert all(element.tag != f"{SVG}script" for element in root.iter())


def test_values_are_written_beside_bars():
    svg = str(_all_charts()[0])
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "4" in texts and "3" in texts  # direct labels, so colour is not needed to read them


def test_long_labels_are_shortened():
    svg = str(
        charts.horizontal_bars(
            "c", "T", "D", ["x" * 200], [charts.Series("A", [0.5])], axis_label="m"
        )
    )
    texts = [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert any(t.endswith("…") and len(t) <= charts.MAX_LABEL for t in texts)
