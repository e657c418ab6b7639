"""The shared SVG charts: distinct legend colours, ticks on both axes, bars that tell close values apart,
readable numbers, escaped text, and graphs sized to hold every node."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from loopml.core import charts
from loopml.core.charts._scale import bar_axis, number_axis

NS = {"s": "http://www.w3.org/2000/svg"}


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def _legend_colors(svg: str) -> list[str]:
    return [g.get("data-color") for g in _tree(svg).iter("{http://www.w3.org/2000/svg}g")
            if g.get("class") == "legend-item"]


def _bar_widths(svg: str) -> list[float]:
    return [float(r.get("width")) for g in _tree(svg).iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "bar"
            for r in g.iter("{http://www.w3.org/2000/svg}rect")]


def test_the_palette_never_repeats():
    assert charts.colors(3) == ["#1f77b4", "#ff7f0e", "#2ca02c"]
    many = charts.colors(200)
    assert len(set(many)) == 200 and all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in many)


def test_every_legend_entry_has_its_own_colour():
    series = [charts.Series(f"trial-{i}", [(s, 1 / (s + i + 1)) for s in range(5)]) for i in range(14)]
    svg = charts.line(series, x_label="step", y_label="loss")
    colors = _legend_colors(svg)
    assert len(colors) == 14 and len(set(colors)) == 14
    paths = [p.get("stroke") for p in _tree(svg).iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "series"]
    assert paths == colors  # the line and its legend swatch share the colour


def test_both_axes_carry_ticks():
    svg = charts.line([charts.Series("auc", [(0, 0.7), (10, 0.9)])], x_label="step", y_label="auc")
    labels = [t.text for t in _tree(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert {"0", "10"} <= set(labels) and {"0.7", "0.9"} <= set(labels)


def test_close_values_get_bars_that_can_be_told_apart():
    svg = charts.bars([charts.Bar("v1", 0.8544), charts.Bar("v2", 0.8564)], title="auc")
    short, long = _bar_widths(svg)
    assert long / short > 1.5, (short, long)
    assert "axis starts at" in svg
    far = _bar_widths(charts.bars([charts.Bar("a", 0.2), charts.Bar("b", 0.9)]))
    assert far[1] / far[0] == pytest.approx(4.5, rel=0.05)  # from 0: lengths proportional to values


@pytest.mark.parametrize(("values", "starts_at_zero"), [
    ([0.8544, 0.8564], False), ([0.2, 0.9], True), ([5.0], True), ([-0.51, -0.5], False), ([-1.0, 2.0], True),
    ([3.0, 3.0], True), ([0.0, 0.001], True)])
def test_the_bar_axis_starts_at_zero_unless_values_are_close(values, starts_at_zero):
    axis = bar_axis(values)
    assert (axis.lo <= 0 <= axis.hi) is starts_at_zero
    assert axis.lo <= min(values) and axis.hi >= max(values)


def test_ticks_are_round_numbers_covering_the_data():
    axis = number_axis([0.13, 0.87])
    assert axis.ticks[0] <= 0.13 and axis.ticks[-1] >= 0.87
    assert all(re.fullmatch(r"-?\d+(\.\d{1,2})?", str(t)) for t in axis.ticks), axis.ticks


@pytest.mark.parametrize(("value", "shown"), [(23980.4, "23,980"), (0.85441, "0.8544"), (3, "3"), (3.0, "3"),
                                               (None, "–"), (0.0000123, "1.23e-05"), (True, "true")])
def test_numbers_are_readable(value, shown):
    assert charts.fmt_number(value) == shown


@pytest.mark.parametrize(("seconds", "shown"), [(23.98, "24.0 s"), (400, "6 min 40 s"), (0.2866, "287 ms"),
                                                 (7260, "2 h 1 min"), (0.0105, "10.5 ms")])
def test_durations_are_readable(seconds, shown):
    assert charts.fmt_duration(seconds) == shown


def test_durations_in_bars_are_never_in_exponent_form():
    svg = charts.bars([charts.Bar("build_features", 13625.0), charts.Bar("train", 23980.0)], unit="ms")
    assert "e+" not in svg and "24.0 s" in svg


def test_text_from_data_is_escaped():
    hostile = '<script>alert(1)</script>" onload="x'
    for svg in (charts.bars([charts.Bar(hostile, 1.0, href="#/runs/a")]),
                charts.line([charts.Series(hostile, [(0, 1.0)])]),
                charts.graph([charts.Node("a", hostile, hostile)], []),
                charts.scatter([charts.Point(1, 2, hostile, group=hostile)], x_label=hostile, y_label="y"),
                charts.parallel([hostile], [charts.Line(hostile, [1.0])])):
        tree = _tree(svg)
        assert not any(el.tag.endswith("script") for el in tree.iter())
        assert all(not name.startswith("on") for el in tree.iter() for name in el.attrib)


def test_a_graph_is_wide_enough_for_every_node_and_clips_long_labels_with_a_tooltip():
    nodes = [charts.Node(f"n{i}", f"step_with_a_rather_long_name_{i}" * (2 if i == 3 else 1), "SUCCEEDED",
                         href=f"#/executions/e?step=n{i}") for i in range(7)]
    edges = [(f"n{i}", f"n{i + 1}") for i in range(6)] + [("n4", "n6")]
    tree = _tree(charts.graph(nodes, edges))
    width = float(tree.get("width"))
    rects = [r for r in tree.iter("{http://www.w3.org/2000/svg}rect")]
    assert len(rects) == 7 and all(float(r.get("x")) + float(r.get("width")) <= width for r in rects)
    assert any(t.text and t.text.endswith("…") for t in tree.iter("{http://www.w3.org/2000/svg}text"))
    links = [a.get("href") for a in tree.iter("{http://www.w3.org/2000/svg}a")]
    assert links == [f"#/executions/e?step=n{i}" for i in range(7)]


def test_categories_and_numbers_share_a_scatter():
    points = [charts.Point("adam", 0.8, "r1"), charts.Point("sgd", 0.82, "r2"), charts.Point(None, 0.9, "r3")]
    tree = _tree(charts.scatter(points, x_label="params.optimizer", y_label="metrics.auc"))
    labels = {t.text for t in tree.iter("{http://www.w3.org/2000/svg}text")}
    assert {"adam", "sgd"} <= labels
    assert len([c for c in tree.iter("{http://www.w3.org/2000/svg}circle")]) == 2  # r3 has no x


def test_empty_charts_say_so():
    assert "no data yet" in charts.line([charts.Series("auc", [])])
    assert "no data yet" in charts.bars([])
