"""Schema inference: a logical type, nullability and categories for every column of a frame."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

MAX_CATEGORIES = 50
"""A text column with at most this many distinct values (and mostly repeats) is categorical."""

LOGICAL_TYPES = ("boolean", "integer", "float", "string", "categorical", "datetime", "date", "other")


@dataclass(frozen=True)
class ColumnSchema:
    """One column of a dataset.

    Attributes:
        name: the column name.
        logical_type: one of ``boolean, integer, float, string, categorical, datetime, date, other``.
        physical_type: the pandas dtype the column loads as.
        nullable: whether the column holds missing values.
        categories: the sorted distinct values of a categorical column (empty otherwise).
    """

    name: str
    logical_type: str
    physical_type: str
    nullable: bool
    categories: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        return cls(**{**data, "categories": tuple(data.get("categories") or ())})


def _is_categorical_text(values: pd.Series) -> bool:
    non_null = values.dropna()
    if non_null.empty:
        return False
    distinct: int = non_null.nunique()
    return distinct <= MAX_CATEGORIES and distinct <= max(1, len(non_null) // 2)


def _logical_type(values: pd.Series) -> str:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return _object_type(values)
    return "other"


def _object_type(values: pd.Series) -> str:
    sample = values.dropna()
    if sample.empty:
        return "string"
    kinds = {type(v).__name__ for v in sample.head(1000)}
    if kinds == {"date"}:
        return "date"
    if kinds <= {"str"}:
        return "categorical" if _is_categorical_text(values) else "string"
    if kinds <= {"bool"}:
        return "boolean"
    return "other"


def infer_column(name: str, values: pd.Series) -> ColumnSchema:
    """Infer the schema of one column."""
    logical = _logical_type(values)
    categories: tuple[str, ...] = ()
    if logical == "categorical":
        categories = tuple(sorted(str(v) for v in values.dropna().unique()))[:MAX_CATEGORIES]
    return ColumnSchema(
        name=str(name), logical_type=logical, physical_type=str(values.dtype),
        nullable=bool(values.isna().any()), categories=categories,
    )


def infer_schema(df: pd.DataFrame) -> list[ColumnSchema]:
    """Infer the schema of every column of ``df``, in column order.

    Example:
        >>> import pandas as pd
        >>> [c.logical_type for c in infer_schema(pd.DataFrame({"a": [1, 2], "b": ["x", "x"]}))]
        ['integer', 'categorical']
    """
    return [infer_column(name, df[name]) for name in df.columns]
