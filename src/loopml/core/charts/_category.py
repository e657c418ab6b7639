"""Axes over values that may be numbers or names (a parameter such as ``optimizer=adam``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeGuard

from loopml.core.charts._scale import Axis, fmt_number, number_axis

Value = float | int | str | bool | None


def is_number(value: Value) -> TypeGuard[float | int]:
    """Whether a value is placed on a numeric scale (booleans and names are categories)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def value_axis(values: Sequence[Value]) -> tuple[Axis, Callable[[Value], float | None]]:
    """A numeric axis when every present value is a number, else one position per distinct value.

    Returns the axis and a function placing a value on it (None for a missing value).
    """
    present = [v for v in values if v is not None]
    if all(is_number(v) for v in present):
        axis = number_axis([float(v) for v in present])
        return axis, lambda v: None if v is None else float(v)
    names = sorted({_name(v) for v in present})
    index = {n: float(i) for i, n in enumerate(names)}
    axis = Axis(-0.5, len(names) - 0.5, tuple(index.values()), lambda t: names[int(round(t))] if names else "")
    return axis, lambda v: None if v is None else index[_name(v)]


def _name(value: Value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return fmt_number(value) if is_number(value) else str(value)
