"""Scatter plots of any two parameters or metrics of runs (numbers or names on either axis)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loopml.core.charts import _frame
from loopml.core.charts._category import Value, value_axis
from loopml.core.charts._palette import colors
from loopml.core.charts._svg import document, el, link, tooltip


@dataclass(frozen=True)
class Point:
    """One point: its coordinates, its name (on hover), an optional group (colour and legend) and link."""

    x: Value
    y: Value
    label: str
    group: str = ""
    href: str | None = None


def scatter(points: Sequence[Point], *, x_label: str, y_label: str, title: str = "", width: float = 560,
            height: float = 260) -> str:
    """A scatter plot with ticks on both axes; points in groups get distinct colours and a legend.

    Returns:
        The ``<svg>`` document as a string.
    """
    x_axis, px = value_axis([p.x for p in points])
    y_axis, py = value_axis([p.y for p in points])
    left, top, right = _frame.y_label_room(y_axis, y_label), 10.0, width - 16
    bottom = top + height
    sx, sy = x_axis.scale(left + 8, right - 8), y_axis.scale(bottom - 8, top + 8)
    groups = list(dict.fromkeys(p.group for p in points))
    palette = dict(zip(groups, colors(len(groups)), strict=True))
    parts = [_frame.y_grid(y_axis, sy, left, right), _frame.x_grid(x_axis, sx, top, bottom),
             _frame.frame(left, top, right, bottom),
             _frame.axis_titles(x_label, y_label, left=left, right=right, top=top, bottom=bottom)]
    for p in points:
        x, y = px(p.x), py(p.y)
        if x is None or y is None:
            continue
        dot = el("circle", tooltip(f"{p.label}: {x_label} = {p.x}, {y_label} = {p.y}"), cx=sx(x), cy=sy(y), r=5,
                 fill=palette[p.group], fill_opacity=0.85, stroke="#fff", cls="point")
        parts.append(link(p.href, dot))
    if not points:
        parts.append(_frame.empty(left + right, top + bottom))
    shown = [(g, palette[g]) for g in groups if g]
    key, key_height = _frame.legend(shown, x=left, y=bottom + 40, width=right - left)
    return document(width, bottom + 40 + key_height + 4, "".join(parts) + key, label=title, kind="scatter")
