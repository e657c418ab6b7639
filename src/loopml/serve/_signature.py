"""The input signature a served model accepts, and checking frames against it.

A signature is a list of columns, each with a kind (``double``, ``long``, ``boolean``, ``string``) and
whether missing values are allowed. Checking never calls the model: it returns the frame converted to
the declared dtypes, or the offending rows with a JSON pointer (``/<row>/<column>``) and a reason.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError

_KINDS = {
    "double": "double", "float": "double", "float64": "double", "float32": "double", "number": "double",
    "long": "long", "integer": "long", "int": "long", "int64": "long", "int32": "long",
    "boolean": "boolean", "bool": "boolean", "string": "string", "str": "string", "object": "string",
    "category": "category", "datetime": "string",
}
_INT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Column:
    """One input column: its name, kind and whether null/NaN is allowed."""

    name: str
    kind: str
    nullable: bool = False
    categories: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class RowError:
    """A row that violates the signature: its position, a JSON pointer and the reason."""

    row: int
    pointer: str
    message: str


def _column(spec: Any, name: str | None = None) -> Column:
    if isinstance(spec, str):
        spec = {"type": spec}
    kind = str(spec.get("type") or spec.get("dtype") or spec.get("kind") or "double").lower()
    if kind not in _KINDS:
        raise ValidationError(f"signature column {name!r} has unknown type {kind!r}; use one of {sorted(_KINDS)}")
    nullable = bool(spec.get("nullable") or spec.get("allow_nan") or spec.get("optional"))
    cats = spec.get("categories")
    return Column(str(spec.get("name", name)), _KINDS[kind], nullable, tuple(cats) if cats is not None else None)


def parse_signature(signature: Any) -> tuple[Column, ...]:
    """Normalise a signature dict (MLflow ``inputs`` list, ``columns`` list/dict, or name→type) to columns."""
    if not signature:
        return ()
    body: Any
    if isinstance(signature, dict):
        body = signature.get("inputs", signature.get("columns", signature))
    else:
        body = signature
    if isinstance(body, str):
        import json

        body = json.loads(body)
    if isinstance(body, dict):
        return tuple(_column(spec, name) for name, spec in body.items())
    return tuple(_column(spec) for spec in body)


def signature_to_dict(columns: tuple[Column, ...]) -> dict[str, Any]:
    """The JSON form used in OpenAPI, OIP metadata and ``describe``."""
    return {"inputs": [{"name": c.name, "type": c.kind, "nullable": c.nullable,
                        **({"categories": list(c.categories)} if c.categories is not None else {})} for c in columns]}


def _numeric(series: pd.Series, col: Column, errors: list[RowError]) -> np.ndarray:
    """The column as float64; appends errors for bools, strings, NaN and ±Inf that are not allowed."""
    if pd.api.types.is_bool_dtype(series.dtype):
        errors.extend(RowError(i, f"/{i}/{col.name}", f"column {col.name!r} expects {col.kind}, got a boolean")
                      for i in range(len(series)))
        return np.zeros(len(series))
    if pd.api.types.is_numeric_dtype(series.dtype):
        values: np.ndarray = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.empty(len(series))
        for i, item in enumerate(series.tolist()):
            if item is None and col.nullable:
                values[i] = np.nan
            elif isinstance(item, (int, float, np.number)) and not isinstance(item, (bool, np.bool_)):
                values[i] = _as_float(item)
            else:
                got = "null" if item is None else f"{type(item).__name__} {short_repr(item)}"
                errors.append(RowError(i, f"/{i}/{col.name}", f"column {col.name!r} expects {col.kind}, got {got}"))
                values[i] = 0.0
    _check_finite(values, col, errors)
    return values


def _as_float(item: Any) -> float:
    """A number as float; an integer beyond float range becomes inf (refused as out of range)."""
    try:
        return float(item)
    except OverflowError:
        return math.inf


def _bounded_repr() -> reprlib.Repr:
    out = reprlib.Repr()
    out.maxlevel, out.maxstring, out.maxother, out.maxlong = 2, 40, 40, 40
    return out


_REPR = _bounded_repr()


def short_repr(value: Any) -> str:
    """A bounded repr for messages (never the whole of a huge or deeply nested value)."""
    return _REPR.repr(value)


def _check_finite(values: np.ndarray, col: Column, errors: list[RowError]) -> None:
    bad = ~np.isfinite(values)
    if col.nullable:
        bad &= ~np.isnan(values)
    for i in np.flatnonzero(bad)[:1000].tolist():
        what = "NaN/null" if np.isnan(values[i]) else "an infinite or out-of-range number"
        errors.append(RowError(i, f"/{i}/{col.name}", f"column {col.name!r} expects a finite {col.kind}, got {what}"
                               + ("" if col.nullable else "; this column does not allow missing values")))


def _convert(series: pd.Series, col: Column, errors: list[RowError]) -> Any:
    if col.kind == "double":
        return _numeric(series, col, errors)
    if col.kind == "long":
        values = _numeric(series, col, errors)
        finite = np.isfinite(values)
        bad = finite & ((values != np.round(values)) | (np.abs(values) > _INT_MAX))
        for i in np.flatnonzero(bad)[:1000].tolist():
            errors.append(RowError(i, f"/{i}/{col.name}", f"column {col.name!r} expects a 64-bit integer, "
                                   f"got {short_repr(values[i])}"))
        return values if col.nullable else np.where(finite, values, 0).astype(np.int64)
    if col.kind == "boolean":
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.to_numpy()
        for i, item in enumerate(series.tolist()):
            if not isinstance(item, (bool, np.bool_)) and not (item is None and col.nullable):
                errors.append(RowError(i, f"/{i}/{col.name}", f"column {col.name!r} expects boolean, got {short_repr(item)}"))
        return series.to_numpy(dtype=object)
    allowed = set(col.categories) if col.categories is not None else None
    for i, item in enumerate(series.tolist()):
        if item is None and col.nullable:
            continue
        if allowed is not None and item not in allowed:
            errors.append(RowError(i, f"/{i}/{col.name}", f"column {col.name!r} expects one of "
                                   f"{sorted(map(str, allowed))[:20]}, got {short_repr(item)}"))
        elif allowed is None and not isinstance(item, str):
            errors.append(RowError(i, f"/{i}/{col.name}", f"column {col.name!r} expects string, got {short_repr(item)}"))
    return series.to_numpy(dtype=object)


def check_frame(frame: pd.DataFrame, columns: tuple[Column, ...]) -> tuple[pd.DataFrame, list[RowError]]:
    """Convert ``frame`` to the signature's columns and dtypes; return it with every row-level violation.

    Missing or extra columns are frame-level errors raised as :class:`ValidationError` at once.
    """
    if not columns:
        return frame, []
    names = [c.name for c in columns]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        expected = ", ".join(f"{c.name}:{c.kind}" for c in columns if c.name in missing)
        raise ValidationError(f"missing column(s) {missing}; the model expects {expected}",
                              pointer=f"/0/{missing[0]}")
    extra = [str(n) for n in frame.columns if n not in names]
    if extra:
        raise ValidationError(f"unexpected column(s) {extra}; the model accepts only {names}",
                              pointer=f"/0/{extra[0]}")
    errors: list[RowError] = []
    data = {c.name: _convert(frame[c.name], c, errors) for c in columns}
    return pd.DataFrame(data, index=frame.index), sorted(errors, key=lambda e: e.row)


def validate_frame(frame: pd.DataFrame, columns: tuple[Column, ...], *, max_rows: int) -> pd.DataFrame:
    """Like :func:`check_frame` for one request: any violation raises a 422 naming the first offender."""
    if len(frame) == 0:
        raise ValidationError("the request holds no rows; send at least one record")
    if len(frame) > max_rows:
        raise ValidationError(f"the request holds {len(frame)} rows; at most {max_rows} are allowed per request; "
                              "split it or use batch transform", pointer="")
    clean, errors = check_frame(frame, columns)
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValidationError(f"row {first.row}: {first.message}{more}", pointer=first.pointer,
                              violations=[e.__dict__ for e in errors[:20]])
    return clean


_FAST_ROWS = 256


def _rows_of(doc: Any) -> Any:
    if isinstance(doc, dict) and len(doc) == 1:
        key = next(iter(doc))
        if key in ("instances", "inputs", "dataframe_records"):
            return doc[key]
    return doc


def _plain_number(value: Any) -> bool:
    return (type(value) is float and math.isfinite(value)) or (type(value) is int and -_INT_MAX <= value <= _INT_MAX)


def fast_array(doc: Any, columns: tuple[Column, ...]) -> np.ndarray | None:
    """The rows of a small, clean, all-``double`` JSON request as one float64 block in signature order.

    Returns None whenever anything is unusual (other shapes or kinds, a wrong or missing column, a value
    that is not a finite number); the caller then takes the general path, which reports the exact error.
    """
    if not columns or any(c.kind != "double" for c in columns):
        return None
    rows = _rows_of(doc)
    if not isinstance(rows, list) or not 0 < len(rows) <= _FAST_ROWS:
        return None
    names = [c.name for c in columns]
    first = rows[0]
    if isinstance(first, dict):
        wanted = set(names)
        if not all(type(r) is dict and r.keys() == wanted for r in rows):
            return None
        values = [[r[n] for n in names] for r in rows]
    elif isinstance(first, list):
        if not all(type(r) is list and len(r) == len(names) for r in rows):
            return None
        values = rows
    else:
        return None
    if not all(_plain_number(v) for row in values for v in row):
        return None
    return np.array(values, dtype=np.float64)


def fast_frame(doc: Any, columns: tuple[Column, ...]) -> pd.DataFrame | None:
    """:func:`fast_array` as a frame with the signature's column names."""
    block = fast_array(doc, columns)
    return None if block is None else pd.DataFrame(block, columns=[c.name for c in columns])
