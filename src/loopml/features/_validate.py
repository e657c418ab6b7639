"""Checking a DataFrame against a feature group and turning it into a typed Arrow table (all errors at once)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
from pandas.api import types as ptypes

from loopml.errors import ValidationError
from loopml.features.group import FeatureGroup

TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_TYPES = {
    "float64": pa.float64(), "float32": pa.float32(), "int64": pa.int64(), "int32": pa.int32(),
    "bool": pa.bool_(), "string": pa.string(), "datetime": TIMESTAMP,
}
DUCK_TYPES = {"float64": "DOUBLE", "float32": "FLOAT", "int64": "BIGINT", "int32": "INTEGER",
              "bool": "BOOLEAN", "string": "VARCHAR", "datetime": "TIMESTAMPTZ"}

_ACCEPTS: dict[str, tuple[Callable[[object], bool], str]] = {
    "float64": (lambda d: ptypes.is_float_dtype(d) or _is_int(d), "a float or integer column"),
    "float32": (lambda d: ptypes.is_float_dtype(d) or _is_int(d), "a float or integer column"),
    "int64": (lambda d: _is_int(d), "an integer column (nullable Int64 for missing values)"),
    "int32": (lambda d: _is_int(d), "an integer column (nullable Int32 for missing values)"),
    "bool": (lambda d: ptypes.is_bool_dtype(d), "a bool or boolean column"),
    "string": (lambda d: ptypes.is_string_dtype(d) or ptypes.is_object_dtype(d), "a string column"),
    "datetime": (lambda d: isinstance(d, pd.DatetimeTZDtype), "a timezone-aware datetime column"),
}


def _is_int(dtype: object) -> bool:
    return ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype)


def _check_time(df: pd.DataFrame, column: str, problems: list[str]) -> None:
    dtype = df[column].dtype
    if not isinstance(dtype, pd.DatetimeTZDtype):
        hint = "; localize it, e.g. df[col].dt.tz_localize('UTC')" if ptypes.is_datetime64_dtype(dtype) else ""
        problems.append(f"column {column!r} must hold timezone-aware timestamps, got dtype {dtype}{hint}")
    elif df[column].isna().any():
        problems.append(f"column {column!r} has {int(df[column].isna().sum())} missing timestamps; every row needs one")


def _check_key(df: pd.DataFrame, column: str, kind: str, problems: list[str]) -> None:
    series = df[column]
    nulls = int(series.isna().sum())
    if nulls:
        first = series.index[series.isna()][0]
        problems.append(f"entity key {column!r} has {nulls} null values (first at index {first!r}); keys must be set")
    ok = _is_int(series.dtype) if kind == "int64" else ptypes.is_string_dtype(series.dtype) or ptypes.is_object_dtype(series.dtype)
    if not ok:
        problems.append(f"entity key {column!r} is declared {kind} but the column has dtype {series.dtype}")


def _check_columns(df: pd.DataFrame, group: FeatureGroup, problems: list[str]) -> None:
    required = [*group.key_names, group.event_time]
    missing = [c for c in required if c not in df.columns]
    missing_features = [f for f in group.features if f not in df.columns]
    unknown = [c for c in df.columns if c not in required and c not in group.features]
    if missing:
        problems.append(f"missing required columns {missing} (entity keys {group.key_names}, event time "
                        f"{group.event_time!r})")
    if missing_features:
        problems.append(f"missing feature columns {missing_features}; send every feature (use nulls for unknowns)")
    if unknown:
        problems.append(f"unknown columns {unknown}; feature group {group.name!r} has features "
                        f"{group.feature_names} (register a new version to add features)")


def to_arrow(df: pd.DataFrame, group: FeatureGroup) -> pa.Table:
    """Validate ``df`` against ``group`` and return it as an Arrow table in the group's column order.

    Raises:
        ValidationError: listing every problem found, each naming its column.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(f"ingest expects a pandas DataFrame, got {type(df).__name__}")
    problems: list[str] = []
    _check_columns(df, group, problems)
    for key, kind in group.entity_keys.items():
        if key in df.columns:
            _check_key(df, key, kind, problems)
    if group.event_time in df.columns:
        _check_time(df, group.event_time, problems)
    for name, kind in group.features.items():
        if name in df.columns and not _ACCEPTS[kind][0](df[name].dtype):
            problems.append(f"feature {name!r} is declared {kind} and needs {_ACCEPTS[kind][1]}, "
                            f"got dtype {df[name].dtype}")
    if problems:
        raise ValidationError(
            f"{len(problems)} problem(s) with the data for feature group {group.name!r}; nothing was written: "
            + "; ".join(problems), group=group.name, problems=problems,
        )
    return _convert(df, group)


def _convert(df: pd.DataFrame, group: FeatureGroup) -> pa.Table:
    arrays, fields = [], []
    columns = {**group.entity_keys, group.event_time: "datetime", **group.features}
    for name, kind in columns.items():
        try:
            arrays.append(pa.array(df[name], type=ARROW_TYPES[kind], from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise ValidationError(
                f"column {name!r} cannot be stored as {kind} ({type(exc).__name__}: {str(exc)[:200]}); "
                "fix the values or the declared type; nothing was written", column=name,
            ) from exc
        fields.append(pa.field(name, ARROW_TYPES[kind]))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
