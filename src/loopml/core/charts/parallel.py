"""Parallel coordinates: one vertical axis per parameter or metric, one line per run across them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loopml.core.charts import _frame
from loopml.core.charts._category import Value, value_axis
from loopml.core.charts._palette import colors
from loopml.core.charts._scale import Axis
from loopml.core.charts._svg import AXIS, MUTED, clip, document, el, link, text, text_width, tooltip


@dataclass(frozen=True)
class Line:
    """One polyline: a run's name (legend), its value on each axis (None: missing), an optional link."""

    name: str
    values: Sequence[Value]
    href: str | None = None


def _axis_marks(x: float, axis: Axis, place: Callable[[Value], float | None], top: float, bottom: float) -> str:
    sy = axis.scale(bottom, top)
    parts = [el("line", x1=x, y1=top, x2=x, y2=bottom, stroke=AXIS, stroke_width=1.5)]
    for tick in axis.ticks:
        parts.append(el("line", x1=x - 3, y1=sy(tick), x2=x + 3, y2=sy(tick), stroke=AXIS))
        parts.append(text(x + 6, sy(tick) + 4, axis.label(tick), fill=MUTED, font_size=10))
    return "".join(parts)


def parallel(axes: Sequence[str], lines: Sequence[Line], *, title: str = "", width: float = 760,
             height: float = 240) -> str:
    """Parallel coordinates with ticks on each axis and a legend of distinct colours (one per line).

    Args:
        axes: the axis names (e.g. ``params.C``, ``metrics.auc``).
        lines: one per run; ``values`` follow ``axes``.
        title: the accessible name of the chart.
        width: the chart width; height: the height of the axes.

    Returns:
        The ``<svg>`` document as a string.
    """
    gap_guess = (width - 100) / max(len(axes) - 1, 1)
    first = min(text_width(axes[0], 11) * 1.1 if axes else 0.0, gap_guess) / 2 if axes else 0.0
    last = min(text_width(axes[-1], 11) * 1.1, gap_guess) / 2 if axes else 0.0
    top, left, right = 34.0, max(30.0, first + 6), width - max(70.0, last + 6)
    bottom = top + height
    gap = (right - left) / max(len(axes) - 1, 1)
    xs = [left + i * gap for i in range(len(axes))]
    scales = [value_axis([ln.values[i] if i < len(ln.values) else None for ln in lines]) for i in range(len(axes))]
    palette = colors(len(lines))
    parts = []
    for x, name, (axis, place) in zip(xs, axes, scales, strict=True):
        parts.append(_axis_marks(x, axis, place, top, bottom))
        parts.append(el("g", text(x, top - 12, clip(name, max(gap - 8, 60), 11 * 1.1), text_anchor="middle",
                                  font_weight=600), tooltip(name)))
    for ln, color in zip(lines, palette, strict=True):
        points = []
        for i, (axis, place) in enumerate(scales):
            at = place(ln.values[i] if i < len(ln.values) else None)
            if at is not None:
                points.append(f"{xs[i]:.1f},{axis.scale(bottom, top)(at):.1f}")
        shape = el("polyline", tooltip(ln.name), points=" ".join(points), fill="none", stroke=color, stroke_width=2,
                   stroke_opacity=0.9, cls="run-line", data_series=ln.name)
        parts.append(link(ln.href, shape))
    key, key_height = _frame.legend([(ln.name, c) for ln, c in zip(lines, palette, strict=True)],
                                    x=left, y=bottom + 16, width=right - left)
    return document(width, bottom + 16 + key_height + 4, "".join(parts) + key, label=title, kind="parallel")
