"""What charts share: gridlines with tick labels, axis titles, the legend, and the empty-chart message."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from loopml.core.charts._scale import Axis
from loopml.core.charts._svg import AXIS, GRID, MUTED, clip, el, text, text_width, tooltip

LEGEND_ROW = 18


def y_grid(axis: Axis, sy: Callable[[float], float], left: float, right: float) -> str:
    """Horizontal gridlines at the ticks, labelled to the left of the plot."""
    parts = []
    for tick in axis.ticks:
        y = sy(tick)
        parts.append(el("line", x1=left, y1=y, x2=right, y2=y, stroke=GRID))
        parts.append(text(left - 6, y + 4, axis.label(tick), text_anchor="end", fill=MUTED))
    return "".join(parts)


def x_grid(axis: Axis, sx: Callable[[float], float], top: float, bottom: float) -> str:
    """Vertical gridlines at the ticks, labelled under the plot."""
    parts = []
    for tick in axis.ticks:
        x = sx(tick)
        parts.append(el("line", x1=x, y1=top, x2=x, y2=bottom, stroke=GRID))
        parts.append(text(x, bottom + 14, axis.label(tick), text_anchor="middle", fill=MUTED))
    return "".join(parts)


def frame(left: float, top: float, right: float, bottom: float) -> str:
    """The two axis lines (left and bottom)."""
    return (el("line", x1=left, y1=bottom, x2=right, y2=bottom, stroke=AXIS)
            + el("line", x1=left, y1=top, x2=left, y2=bottom, stroke=AXIS))


def axis_titles(x_label: str, y_label: str, *, left: float, right: float, top: float, bottom: float) -> str:
    """The x title centred under the tick labels, the y title rotated along the left edge."""
    parts = []
    if x_label:
        parts.append(text((left + right) / 2, bottom + 30, x_label, text_anchor="middle", fill=MUTED))
    if y_label:
        middle = (top + bottom) / 2
        parts.append(text(12, middle, clip(y_label, bottom - top), text_anchor="middle", fill=MUTED,
                          transform=f"rotate(-90 12 {middle:.1f})"))
    return "".join(parts)


def y_label_room(axis: Axis, y_label: str) -> float:
    """The left margin that fits the widest y tick label and the y title."""
    widest = max((text_width(axis.label(t)) for t in axis.ticks), default=0.0)
    return widest + 12 + (20 if y_label else 4)


def legend(entries: Sequence[tuple[str, str]], *, x: float, y: float, width: float) -> tuple[str, float]:
    """Legend items in rows: a swatch in the series colour and its name in ink. Returns (svg, height)."""
    parts, cx, cy = [], x, y
    for name, color in entries:
        shown = clip(name, 220)
        room = 16 + text_width(shown) + 18
        if cx + room > x + width and cx > x:
            cx, cy = x, cy + LEGEND_ROW
        swatch = el("rect", x=cx, y=cy, width=12, height=12, rx=2, fill=color)
        parts.append(el("g", swatch, text(cx + 16, cy + 10, shown), tooltip(name), cls="legend-item",
                        data_color=color))
        cx += room
    return "".join(parts), (cy - y + LEGEND_ROW if entries else 0.0)


def empty(width: float, height: float, message: str = "no data yet") -> str:
    """A muted message in the middle of an empty plot."""
    return text(width / 2, height / 2, message, text_anchor="middle", fill=MUTED)
