"""Line charts: metric series over steps, figures over time, curves in the unit square."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loopml.core.charts import _frame
from loopml.core.charts._palette import colors
from loopml.core.charts._scale import Axis, fmt_number, formatter, number_axis, time_axis
from loopml.core.charts._svg import document, el, tooltip

MARKERS_UP_TO = 60

Scale = Callable[[float], float]


@dataclass(frozen=True)
class Series:
    """One line: its name (in the legend), ``(x, y)`` points (``y`` None leaves a gap), an optional colour."""

    name: str
    points: Sequence[tuple[float, float | None]]
    color: str | None = None


def _axes(series: Sequence[Series], *, x_time: bool, x_range: tuple[float, float] | None,
          y_range: tuple[float, float] | None, y_unit: str) -> tuple[Axis, Axis]:
    xs = [float(p[0]) for s in series for p in s.points]
    ys = [float(p[1]) for s in series for p in s.points if p[1] is not None]
    if x_time:
        x_axis = time_axis(xs)
    else:
        x_axis = number_axis(xs, lo=x_range and x_range[0], hi=x_range and x_range[1])
    y_axis = number_axis(ys, lo=y_range and y_range[0], hi=y_range and y_range[1], label=formatter(y_unit))
    return x_axis, y_axis


def _path(points: Sequence[tuple[float, float | None]], sx: Scale, sy: Scale) -> str:
    d: list[str] = []
    pen = "M"
    for x, y in points:
        if y is None:
            pen = "M"
            continue
        d.append(f"{pen}{sx(x):.1f},{sy(y):.1f}")
        pen = "L"
    return " ".join(d)


def _markers(s: Series, color: str, sx: Scale, sy: Scale, x_label: Callable[[float], str]) -> str:
    return "".join(el("circle", tooltip(f"{s.name} @ {x_label(x)}: {fmt_number(y)}"), cx=sx(x), cy=sy(y), r=3,
                      fill=color) for x, y in s.points if y is not None)


def line(series: Sequence[Series], *, title: str = "", x_label: str = "", y_label: str = "",
         x_time: bool = False, x_range: tuple[float, float] | None = None,
         y_range: tuple[float, float] | None = None, y_unit: str = "", diagonal: bool = False,
         markers: bool | None = None, width: float = 560, height: float = 220) -> str:
    """A line chart with gridlines, ticks on both axes and a legend of distinct colours.

    Args:
        series: the lines.
        title: the accessible name of the chart.
        x_label: the x axis title; y_label: the y axis title.
        x_time: x values are epoch seconds (ticks on round UTC times).
        x_range: fixed x domain, e.g. ``(0, 1)`` for ROC curves; y_range: the same for y.
        y_unit: ``s``/``ms`` (durations), ``%``, or ``""``.
        diagonal: draw the dashed y = x line (ROC, calibration).
        markers: dots on the points (default: when there are at most 60).
        width: the plot width in pixels; height: the plot height (the legend adds to it).

    Returns:
        The ``<svg>`` document as a string.
    """
    x_axis, y_axis = _axes(series, x_time=x_time, x_range=x_range, y_range=y_range, y_unit=y_unit)
    left, top, right = _frame.y_label_room(y_axis, y_label), 10.0, width - 16
    bottom = top + height
    sx, sy = x_axis.scale(left, right), y_axis.scale(bottom, top)
    palette = colors(len(series))
    parts = [_frame.y_grid(y_axis, sy, left, right), _frame.x_grid(x_axis, sx, top, bottom),
             _frame.frame(left, top, right, bottom),
             _frame.axis_titles(x_label, y_label, left=left, right=right, top=top, bottom=bottom)]
    if diagonal:
        parts.append(el("line", x1=sx(x_axis.lo), y1=sy(y_axis.lo), x2=sx(x_axis.hi), y2=sy(y_axis.hi),
                        stroke="#c4c8cf", stroke_dasharray="4 3"))
    total = sum(len(s.points) for s in series)
    dots = total <= MARKERS_UP_TO if markers is None else markers
    for s, fallback in zip(series, palette, strict=True):
        color = s.color or fallback
        parts.append(el("path", d=_path(s.points, sx, sy) or None, stroke=color, stroke_width=2, fill="none",
                        stroke_linejoin="round", cls="series", data_series=s.name))
        if dots:
            parts.append(_markers(s, color, sx, sy, x_axis.label))
    if not total:
        parts.append(_frame.empty(left + right, top + bottom))
    key, key_height = _frame.legend([(s.name, s.color or c) for s, c in zip(series, palette, strict=True)],
                                    x=left, y=bottom + (40 if x_label else 26), width=right - left)
    parts.append(key)
    full = bottom + (40 if x_label else 26) + key_height + 4
    return document(width, full, "".join(parts), label=title, kind="line")
