"""The input signature of a saved model: ordered columns with dtypes, and checking frames against it.

Column types are ``int64``, ``float64``, ``bool``, ``string``, ``category`` (with its categories) and
``datetime``. A column is ``nullable`` when missing values (NaN/None/NaT) are allowed in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from loopml.errors import ValidationError

DTYPES = ("int64", "float64", "bool", "string", "category", "datetime")


@dataclass(frozen=True)
class ColumnSpec:
    """One input column.

    Attributes:
        name: the column name.
        type: one of ``int64``, ``float64``, ``bool``, ``string``, ``category``, ``datetime``.
        nullable: whether missing values are allowed.
        categories: the allowed values of a ``category`` column, else None.
    """

    name: str
    type: str
    nullable: bool = False
    categories: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in DTYPES:
            raise ValidationError(f"column {self.name!r} has type {self.type!r}; allowed types are "
                                  f"{', '.join(DTYPES)}", column=self.name)
        if (self.categories is not None) != (self.type == "category"):
            raise ValidationError(f"column {self.name!r}: categories are given exactly for 'category' columns",
                                  column=self.name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"name", "type", "nullable"}`` plus ``categories`` for category columns."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "nullable": self.nullable}
        if self.categories is not None:
            out["categories"] = list(self.categories)
        return out


@dataclass(frozen=True)
class Signature:
    """The ordered input columns a model accepts.

    Attributes:
        inputs: the columns, in the order the model receives them.
    """

    inputs: tuple[ColumnSpec, ...]

    @property
    def names(self) -> list[str]:
        """The column names, in order."""
        return [c.name for c in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the manifest: ``{"inputs": [column, ...]}``."""
        return {"inputs": [c.to_dict() for c in self.inputs]}

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        """Build a signature from its JSON form (or a list of column dicts).

        Raises:
            ValidationError: the data is not a list of columns with known types.
        """
        body = data.get("inputs") if isinstance(data, dict) else data
        if not isinstance(body, list) or not all(isinstance(c, dict) and "name" in c for c in body):
            raise ValidationError(f"a signature is {{'inputs': [{{'name': ..., 'type': ...}}, ...]}}; got "
                                  f"{str(data)[:200]!r}")
        cols = tuple(ColumnSpec(str(c["name"]), str(c.get("type", "")), bool(c.get("nullable", False)),
                                tuple(c["categories"]) if c.get("categories") is not None else None)
                     for c in body)
        if len({c.name for c in cols}) != len(cols):
            raise ValidationError(f"signature column names repeat: {[c.name for c in cols]}")
        return cls(cols)

    def validate(self, frame: Any) -> pd.DataFrame:
        """Check ``frame`` against this signature; return it with columns in order and declared dtypes.

        Integers are accepted for ``float64`` columns, integral floats for ``int64`` columns and strings
        for ``category`` columns. Every problem is reported at once.

        Raises:
            ValidationError: a column is missing or extra, has the wrong type, holds a missing value where
                none is allowed, or an unknown category. ``exc.problems`` lists each one.
        """
        return validate_frame(self, frame)


def as_signature(value: Any) -> Signature | None:
    """Normalise a Signature, its dict form, a list of column dicts or a DataFrame example to a Signature."""
    if value is None or isinstance(value, Signature):
        return value
    if isinstance(value, pd.DataFrame):
        return infer_signature(value)
    return Signature.from_dict(value)


def infer_signature(frame: pd.DataFrame) -> Signature:
    """Infer a signature from an example frame: column order, dtypes, categories and nullability.

    Raises:
        ValidationError: ``frame`` is not a DataFrame, or a column holds values of mixed or unsupported types.

    Example:
        >>> import pandas as pd
        >>> infer_signature(pd.DataFrame({"age": [31, 40], "city": ["Oslo", "Rome"]})).to_dict()["inputs"][0]
        {'name': 'age', 'type': 'int64', 'nullable': False}
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"input_example must be a pandas DataFrame, got {type(frame).__name__}; "
                              "pass pd.DataFrame(...) with the model's input columns")
    return Signature(tuple(_infer_column(str(name), frame[name]) for name in frame.columns))


def _infer_column(name: str, series: pd.Series) -> ColumnSpec:
    nullable = bool(series.isna().any())
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = tuple(v.item() if hasattr(v, "item") else v for v in dtype.categories)
        return ColumnSpec(name, "category", nullable, cats)
    kind = _kind_of(series)
    if kind is None:
        raise ValidationError(f"column {name!r} has dtype {dtype} with values of mixed or unsupported types; "
                              f"convert it to one of {', '.join(DTYPES)}", column=name)
    return ColumnSpec(name, kind, nullable)


def _kind_of(series: pd.Series) -> str | None:
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype):
        return "bool"
    if ptypes.is_integer_dtype(dtype):
        return "int64"
    if ptypes.is_float_dtype(dtype):
        return "float64"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_string_dtype(dtype) or ptypes.is_object_dtype(dtype):
        values = series.dropna()
        return "string" if all(isinstance(v, str) for v in values) else None
    return None


def validate_frame(signature: Signature, frame: Any) -> pd.DataFrame:
    """Check ``frame`` against ``signature`` (see :meth:`Signature.validate`)."""
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"the model takes a pandas DataFrame, got {type(frame).__name__}; "
                              f"pass pd.DataFrame with columns {signature.names}")
    fast = _numeric_block(signature, frame)
    if fast is not None:
        return fast
    have = [str(c) for c in frame.columns]
    problems = [f"column {c.name!r} ({c.type}) is missing" for c in signature.inputs if c.name not in have]
    problems += [f"column {c!r} is not in the signature" for c in have if c not in signature.names]
    frame = frame.rename(columns=str)
    out = {}
    for col in signature.inputs:
        if col.name in have:
            out[col.name] = _check_column(col, frame[col.name], problems)
    if problems:
        raise ValidationError(
            f"the input does not match the model signature: {'; '.join(problems[:10])}. The model expects "
            f"columns {[f'{c.name}: {c.type}' for c in signature.inputs]}", problems=problems)
    return pd.DataFrame(out, index=frame.index)


_EXACT = {"float64": np.dtype("float64"), "int64": np.dtype("int64"), "bool": np.dtype("bool")}


def _numeric_block(signature: Signature, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The frame as is, when it already holds exactly the signature's numeric columns with their dtypes and
    no missing value where none is allowed: one vectorised check instead of one per column. None sends
    the frame through the column-by-column path, which converts it or reports every problem."""
    specs, names = signature.inputs, signature.names
    columns = list(frame.columns)
    if len(columns) != len(specs):
        return None
    in_order = columns == names
    if in_order:
        dtypes = list(frame.dtypes)
    else:
        by_name = dict(zip(columns, frame.dtypes, strict=True))
        if len(by_name) != len(columns):
            return None
        dtypes = [by_name.get(n) for n in names]
    if any(_EXACT.get(c.type) != d for c, d in zip(specs, dtypes, strict=True)):
        return None
    strict = [c.name for c in specs if c.type == "float64" and not c.nullable]
    if strict:
        block = frame if len(strict) == len(specs) else frame[strict]
        if np.isnan(block.to_numpy(dtype=np.float64)).any():
            return None
    return frame if in_order else frame[names]


def _check_column(col: ColumnSpec, series: pd.Series, problems: list[str]) -> pd.Series:
    missing = series.isna()
    if missing.any() and not col.nullable:
        problems.append(f"column {col.name!r} ({col.type}) has {int(missing.sum())} missing value(s) "
                        f"(first at row {series.index[missing.to_numpy()][0]!r}) and does not allow NaN")
    converted = _CONVERT[col.type](col, series)
    if converted is None:
        problems.append(f"column {col.name!r} expects {col.type}, got dtype {series.dtype}")
        return series
    if col.type == "category":
        unknown = sorted({str(v) for v in series.dropna() if v not in set(col.categories or ())})
        if unknown:
            problems.append(f"column {col.name!r} has unknown categories {unknown[:5]}; allowed: "
                            f"{list(col.categories or ())[:20]}")
    return converted


def _to_float(col: ColumnSpec, s: pd.Series) -> pd.Series | None:
    if ptypes.is_bool_dtype(s.dtype) or not ptypes.is_numeric_dtype(s.dtype):
        return None
    return s.astype("float64")


def _to_int(col: ColumnSpec, s: pd.Series) -> pd.Series | None:
    if ptypes.is_integer_dtype(s.dtype):
        return s if s.dtype == np.int64 or col.nullable else s.astype("int64")
    if ptypes.is_float_dtype(s.dtype):
        values = s.dropna().to_numpy()
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            return None
        return s if s.isna().any() else s.astype("int64")
    return None


def _to_bool(col: ColumnSpec, s: pd.Series) -> pd.Series | None:
    return s if ptypes.is_bool_dtype(s.dtype) else None


def _to_string(col: ColumnSpec, s: pd.Series) -> pd.Series | None:
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if _kind_of(s) != "string":
        return None
    return s


def _to_category(col: ColumnSpec, s: pd.Series) -> pd.Series | None:
    if not isinstance(s.dtype, pd.CategoricalDtype) and _kind_of(s) not in ("string", "int64", "bool"):
        return None
    return pd.Series(pd.Categorical(s.astype(object), categories=list(col.categories or ())), index=s.index)


def _to_datetime(col: ColumnSpec, s: pd.Series) -> pd.Series | None:
    return s if ptypes.is_datetime64_any_dtype(s.dtype) else None


_CONVERT = {"float64": _to_float, "int64": _to_int, "bool": _to_bool, "string": _to_string,
            "category": _to_category, "datetime": _to_datetime}
