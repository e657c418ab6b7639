"""Horizontal bar charts: one bar per label, with value labels, ticks, links and optional intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loopml.core.charts import _frame
from loopml.core.charts._palette import colors
from loopml.core.charts._scale import bar_axis, formatter
from loopml.core.charts._svg import ACCENT, AXIS, MUTED, clip, document, el, link, text, text_width, tooltip

ROW, BAR, MAX_LABEL = 24.0, 16.0, 220.0


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value, optional colour, link, interval (``low``..``high``) and hover text."""

    label: str
    value: float
    color: str | None = None
    href: str | None = None
    low: float | None = None
    high: float | None = None
    note: str = ""


def _whisker(b: Bar, sx: Callable[[float], float], y: float) -> str:
    if b.low is None or b.high is None:
        return ""
    mid = y + BAR / 2
    return "".join(el("line", x1=x1, y1=y1, x2=x2, y2=y2, stroke="#111827", stroke_width=1.2) for x1, y1, x2, y2 in (
        (sx(b.low), mid, sx(b.high), mid), (sx(b.low), mid - 4, sx(b.low), mid + 4),
        (sx(b.high), mid - 4, sx(b.high), mid + 4)))


def _row(b: Bar, i: int, *, color: str, sx: Callable[[float], float], origin: float, label_x: float,
         fmt: Callable[[float], str]) -> str:
    y = 6 + i * ROW
    x0, x1 = sorted((origin, sx(b.value)))
    hover = f"{b.label}: {fmt(b.value)}" + (f" [{fmt(b.low)}, {fmt(b.high)}]" if b.low is not None and b.high is not None else "") + \
        (f" — {b.note}" if b.note else "")
    shape = el("rect", tooltip(hover), x=x0, y=y, width=max(x1 - x0, 1.0), height=BAR, rx=2, fill=color)
    name = text(label_x, y + 12, clip(b.label, MAX_LABEL), text_anchor="end")
    value = text(max(x1, sx(b.high) if b.high is not None else x1) + 5, y + 12, fmt(b.value), fill=MUTED)
    return el("g", link(b.href, name + shape), _whisker(b, sx, y), value, cls="bar", data_value=b.value)


def bars(items: Sequence[Bar], *, title: str = "", unit: str = "", each_color: bool = False,
         width: float = 560) -> str:
    """Horizontal bars, in the given order, on an axis that starts at 0 unless the values are too close
    to tell apart from 0 (see :func:`~loopml.core.charts._scale.bar_axis`).

    Args:
        items: the bars.
        title: the accessible name of the chart.
        unit: ``s``/``ms`` (durations), ``%``, or ``""``.
        each_color: a distinct colour per bar (when bars are different things, e.g. runs) instead of one.
        width: the chart width in pixels.

    Returns:
        The ``<svg>`` document as a string.
    """
    fmt = formatter(unit)
    values = [b.value for b in items] + [v for b in items for v in (b.low, b.high) if v is not None]
    axis = bar_axis([v for v in values if math.isfinite(v)], label=fmt)
    label_room = min(max((text_width(b.label) for b in items), default=40.0), MAX_LABEL) + 14
    value_room = max((text_width(fmt(b.value)) for b in items), default=30.0) + 14
    left, right = label_room, width - value_room
    sx = axis.scale(left, right)
    bottom = 6 + len(items) * ROW
    origin = sx(min(max(0.0, axis.lo), axis.hi))
    palette = colors(len(items)) if each_color else [ACCENT] * len(items)
    rows = [_row(b, i, color=b.color or palette[i], sx=sx, origin=origin, label_x=left - 8, fmt=fmt)
            for i, b in enumerate(items)]
    grid = _frame.x_grid(axis, sx, 2, bottom)
    note = "" if axis.lo <= 0 <= axis.hi else text(left, bottom + 28, f"axis starts at {fmt(axis.lo)}",
                                                    fill=MUTED, cls="axis-note")
    body = grid + el("line", x1=origin, y1=2, x2=origin, y2=bottom, stroke=AXIS) + "".join(rows) + note
    if not items:
        body = _frame.empty(width, 40)
    return document(width, bottom + (40 if note else 24), body, label=title, kind="bars")
