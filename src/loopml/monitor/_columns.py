"""Reading one pandas column as the values a monitor compares: types, finite numbers, category counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)


def infer_type(column: pd.Series) -> str:
    """The Model Monitor type of a column: Integral, Fractional, String, or Unknown when all null."""
    if column.notna().sum() == 0:
        return UNKNOWN
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_integer_dtype(column):
        return INTEGRAL
    if pd.api.types.is_float_dtype(column):
        finite = finite_values(column)
        return INTEGRAL if finite.size and bool(np.all(finite == np.floor(finite))) else FRACTIONAL
    return STRING


def finite_values(column: pd.Series) -> np.ndarray:
    """The column's finite numbers as float64; text that does not parse as a number is dropped."""
    values: np.ndarray
    if pd.api.types.is_bool_dtype(column):
        values = column.dropna().to_numpy(dtype=np.float64)
    elif pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def category_counts(column: pd.Series) -> dict[str, int]:
    """Counts of each non-null value, keyed by its text (so 1 and "1" are the same category)."""
    counts: dict[str, int] = {}
    for value, count in column.value_counts(dropna=True, sort=False).items():
        key = str(value)
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def conforming_fraction(column: pd.Series, expected: str) -> float | None:
    """The share of non-null values that fit the baseline type ``expected`` (None when it cannot be told).

    Integral accepts whole numbers, Fractional accepts any number, String accepts anything.
    """
    if (
        expected not in NUMERIC_TYPES
        or pd.api.types.is_bool_dtype(column)
        or pd.api.types.is_integer_dtype(column)
    ):
        return 1.0 if len(column) else None
    present = int(column.notna().sum())
    if present == 0:
        return None
    numbers = finite_values(column)
    fitting = numbers.size if expected == FRACTIONAL else int(np.count_nonzero(numbers == np.floor(numbers)))
    return fitting / present
