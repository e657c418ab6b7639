"""Labels and predictions compared by value, whatever type they arrived as.

Ground truth comes from CSV text (``"1"``), predictions from JSON numbers (``1.0``), booleans from a model
(``True``): all three mean the same class. Each value is first put in a canonical form:

* missing (None, NaN, empty text) stays missing;
* booleans and the texts ``true`` / ``false`` (any case) are 1 and 0;
* numbers, and texts that parse as finite numbers, are numbers; whole numbers are ints (``1.0`` → ``1``);
* any other text is itself (stripped).

Two columns are then compared as numbers when every present value of both is a number, else as text
(numbers written the canonical way: ``1``, ``2.5``), so ``"cat"`` never equals ``1`` and ``"1"`` always does.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

_BOOL_TEXT = {"true": 1, "false": 0}


def canonical(value: Any) -> Any:
    """One value in canonical form: None, an int, a float or a str (see the module doc)."""
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else int(bool(value))
    if isinstance(value, numbers.Number):
        number = float(value)  # type: ignore[arg-type]
        return None if math.isnan(number) else _whole(number)
    text = str(value).strip()
    if not text:
        return None
    if text.lower() in _BOOL_TEXT:
        return _BOOL_TEXT[text.lower()]
    try:
        number = float(text)
    except ValueError:
        return text
    return _whole(number) if math.isfinite(number) else text


def _whole(number: float) -> int | float:
    return int(number) if math.isfinite(number) and number.is_integer() else number


def canonical_array(values: Any) -> np.ndarray:
    """An object array of canonical values."""
    return np.array([canonical(v) for v in np.asarray(values, dtype=object).tolist()], dtype=object)


def is_numeric(values: np.ndarray) -> bool:
    """Whether every present canonical value is a number."""
    return all(isinstance(v, int | float) for v in values if v is not None)


def common_form(*columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Canonical columns in one comparable form: float64 (NaN for missing) when all are numeric, else
    text (None for missing)."""
    if all(is_numeric(c) for c in columns):
        return tuple(np.array([np.nan if v is None else float(v) for v in c], dtype=np.float64) for c in columns)
    return tuple(np.array([None if v is None else text(v) for v in c], dtype=object) for c in columns)


def text(value: Any) -> str:
    """A canonical value as text: ``1``, ``2.5``, ``cat``."""
    return repr(value) if isinstance(value, float) else str(value)


def present(values: np.ndarray) -> np.ndarray:
    """A mask of the present values of a column in common form."""
    if values.dtype.kind == "f":
        finite: np.ndarray = ~np.isnan(values)
        return finite
    return np.array([v is not None for v in values], dtype=bool)
