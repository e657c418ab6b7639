"""Axes: readable tick values, domains (bars start at 0 unless the values are too close to tell apart),
and number, duration and time labels."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
               172800, 604800, 2592000, 7776000, 31536000)
#: Bars start at zero unless the spread of the values is under this share of their size.
CLOSE = 0.25


@dataclass(frozen=True)
class Axis:
    """A linear axis: the domain ``[lo, hi]``, its ticks, and how a tick is labelled."""

    lo: float
    hi: float
    ticks: tuple[float, ...]
    label: Callable[[float], str]

    def scale(self, start: float, end: float) -> Callable[[float], float]:
        """A function from domain values to pixels, ``lo`` → ``start`` and ``hi`` → ``end``."""
        span = (self.hi - self.lo) or 1.0
        return lambda v: start + (v - self.lo) / span * (end - start)


def _step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in _STEPS if span / (m * magnitude) <= count))


def _widen(lo: float, hi: float) -> tuple[float, float]:
    if hi > lo:
        return lo, hi
    if lo == 0:
        return 0.0, 1.0
    pad = abs(lo) * 0.05 or 1.0
    return lo - pad, hi + pad


def number_axis(values: Sequence[float], *, count: int = 5, lo: float | None = None,
                hi: float | None = None, label: Callable[[float], str] | None = None) -> Axis:
    """A linear axis covering ``values`` (or the fixed ``lo``/``hi``) with about ``count`` round ticks; whole
    numbers (versions, steps, trials) get whole ticks."""
    finite = [max(min(v, 1e300), -1e300) for v in values if math.isfinite(v)] or [0.0]
    a, b = _widen(min(finite) if lo is None else lo, max(finite) if hi is None else hi)
    step = _step(b - a, count)
    if step < 1 and lo is None and hi is None and all(float(v).is_integer() for v in finite) and b - a >= 1:
        step = 1.0
    start = a if lo is not None else math.floor(a / step + 1e-9) * step
    end = b if hi is not None else math.ceil(b / step - 1e-9) * step
    first = math.ceil(start / step - 1e-9) * step
    ticks = tuple(round(first + i * step, 12) for i in range(int((end - first) / step + 1e-9) + 1))
    return Axis(start, end, ticks, label or fmt_number)


def bar_axis(values: Sequence[float], *, label: Callable[[float], str] | None = None) -> Axis:
    """The axis of a bar chart: from 0, unless the values share a sign and lie so close together that bars
    from 0 would look equal (0.8544 vs 0.8564); then it starts near the smallest value."""
    finite = [v for v in values if math.isfinite(v)] or [0.0]
    low, high = min(finite), max(finite)
    size = max(abs(low), abs(high))
    if high > low and high - low < CLOSE * size and (low > 0 or high < 0):
        pad = max((high - low) * 0.6, size * 0.002)
        if low > 0:
            return _zoomed(max(low - pad, 0.0), high + pad * 0.25, label)
        return _zoomed(low - pad * 0.25, min(high + pad, 0.0), label)
    return number_axis([*finite, 0.0], label=label)


def _zoomed(lo: float, hi: float, label: Callable[[float], str] | None) -> Axis:
    step = _step(hi - lo, 4)
    return number_axis([lo, hi], lo=math.floor(lo / step) * step, hi=math.ceil(hi / step) * step, label=label)


def time_axis(values: Sequence[float], *, count: int = 5) -> Axis:
    """An axis over epoch seconds with ticks on round times, labelled in UTC."""
    finite = [v for v in values if math.isfinite(v)] or [0.0]
    a, b = _widen(min(finite), max(finite))
    step = next((s for s in _TIME_STEPS if (b - a) / s <= count), _TIME_STEPS[-1])
    first = math.ceil(a / step) * step
    ticks = tuple(float(first + i * step) for i in range(int((b - first) // step) + 1))
    fmt = "%H:%M:%S" if step < 60 else "%H:%M" if b - a < 86400 else "%m-%d %H:%M" if step < 86400 else "%Y-%m-%d"
    return Axis(a, b, ticks, lambda v: datetime.fromtimestamp(v, UTC).strftime(fmt))


def fmt_number(value: float | int | None) -> str:
    """A short, exact-enough label: ``0.8544``, ``23,980``, ``1.2e-05`` (never ``2.398e+4``).

    Example:
        >>> fmt_number(23980.4), fmt_number(0.85441), fmt_number(3)
        ('23,980', '0.8544', '3')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–" if value is None else str(value)
    if isinstance(value, bool):
        return str(value).lower()
    number = float(value)
    magnitude = abs(number)
    if number.is_integer() and magnitude < 1e15:
        return f"{int(number):,}"
    if magnitude >= 1000:
        return f"{number:,.0f}" if magnitude < 1e15 else f"{number:.3e}"
    if magnitude >= 1e-4:
        return f"{number:.4g}"
    return f"{number:.2e}"


def fmt_duration(seconds: float | None) -> str:
    """A duration for people: ``287 ms``, ``12.7 s``, ``6 min 40 s``, ``2 h 5 min``.

    Example:
        >>> fmt_duration(23.98), fmt_duration(400), fmt_duration(0.2866)
        ('24.0 s', '6 min 40 s', '287 ms')
    """
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds == 0:
        return "0"
    if abs(seconds) < 1:
        return f"{seconds * 1000:.3g} ms"
    if abs(seconds) < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min" + (f" {whole % 60} s" if whole % 60 else "")
    return f"{whole // 3600} h" + (f" {whole % 3600 // 60} min" if whole % 3600 // 60 else "")


def formatter(unit: str) -> Callable[[float], str]:
    """How values in ``unit`` are labelled: ``s`` and ``ms`` as durations, ``%`` as percent, else numbers."""
    if unit == "s":
        return fmt_duration
    if unit == "ms":
        return lambda v: fmt_duration(v / 1000)
    if unit == "%":
        return lambda v: f"{fmt_number(v)}%"
    return fmt_number
