"""Data profiles: per-column statistics, histograms or top values, and warnings worth acting on."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from loopml.data.schema import infer_column

HIGH_MISSING = 0.5
"""A column missing in more than this share of rows is flagged."""
SKEW = 2.0
"""A numeric column whose absolute skewness exceeds this is flagged."""
BINS = 20
TOP = 10
_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _num(value: Any) -> float | None:
    """A JSON-safe float (None for NaN and infinities)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges; one bin when the values are (numerically) all the same."""
    try:
        return np.histogram(values, bins=min(BINS, max(1, len(np.unique(values)))))
    except ValueError:  # a range too narrow for finite-sized bins
        return np.array([len(values)]), np.array([values.min(), values.max()])


def _numeric_stats(values: pd.Series) -> dict[str, Any]:
    clean = pd.to_numeric(values, errors="coerce").astype(float)
    clean = clean[np.isfinite(clean)]
    if clean.empty:
        return {"min": None, "max": None, "mean": None, "std": None, "quantiles": {}, "histogram": None}
    counts, edges = _histogram(clean.to_numpy())
    return {
        "min": _num(clean.min()), "max": _num(clean.max()), "mean": _num(clean.mean()),
        "std": _num(clean.std(ddof=1)) if len(clean) > 1 else None,
        "skew": _num(clean.skew()) if len(clean) > 2 else None,
        "zeros": int((clean == 0).sum()),
        "quantiles": {
            f"p{int(q * 100)}": _num(v) for q, v in zip(_QUANTILES, np.quantile(clean, _QUANTILES), strict=True)
        },
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def _datetime_stats(values: pd.Series) -> dict[str, Any]:
    stamps = pd.to_datetime(values, errors="coerce", utc=True).dropna()
    if stamps.empty:
        return {"min": None, "max": None}
    return {"min": stamps.min().isoformat(), "max": stamps.max().isoformat()}


def _top_values(values: pd.Series) -> list[dict[str, Any]]:
    try:
        counts = values.value_counts(dropna=True).head(TOP)
    except TypeError:  # unhashable cells
        counts = values.dropna().astype(str).value_counts().head(TOP)
    return [{"value": str(k), "count": int(v)} for k, v in counts.items()]


def profile_column(name: str, values: pd.Series) -> dict[str, Any]:
    """The profile of one column (see :func:`profile`)."""
    schema = infer_column(name, values)
    count, missing = len(values), int(values.isna().sum())
    try:
        distinct = int(values.nunique(dropna=True))
    except TypeError:  # unhashable cells (lists, dicts)
        distinct = int(values.dropna().astype(str).nunique())
    out: dict[str, Any] = {
        "name": str(name), "logical_type": schema.logical_type, "physical_type": schema.physical_type,
        "count": count, "missing": missing, "missing_rate": missing / count if count else 0.0,
        "distinct": distinct,
    }
    if schema.logical_type in ("integer", "float"):
        with np.errstate(all="ignore"):
            out.update(_numeric_stats(values))
    elif schema.logical_type in ("datetime", "date"):
        out.update(_datetime_stats(values))
    else:
        out["top_values"] = _top_values(values)
    if schema.logical_type == "boolean":
        out["mean"] = _num(values.dropna().astype(float).mean()) if count - missing else None
    return out


def _column_warnings(col: dict[str, Any], rows: int) -> list[dict[str, Any]]:
    name, found = col["name"], []

    def warn(kind: str, message: str) -> None:
        found.append({"column": name, "kind": kind, "message": message})

    if rows and col["distinct"] <= 1:
        warn("constant", f"{name!r} has {col['distinct']} distinct value(s); it carries no information")
    if col["missing_rate"] > HIGH_MISSING:
        warn("high_missing", f"{name!r} is missing in {col['missing_rate']:.0%} of rows")
    non_null = rows - col["missing"]
    id_type = col["logical_type"] in ("integer", "string", "categorical")
    if id_type and non_null >= 20 and col["distinct"] == non_null:
        warn("id_like", f"{name!r} is unique in every row; it looks like an identifier, not a feature")
    skew = col.get("skew")
    if skew is not None and abs(skew) > SKEW:
        warn("skewed", f"{name!r} is skewed (skewness {skew:.1f}); consider a log transform or clipping")
    return found


def _duplicate_rows(df: pd.DataFrame) -> int:
    try:
        return int(df.duplicated().sum())
    except TypeError:
        return int(df.astype(str).duplicated().sum())


def profile(df: pd.DataFrame) -> dict[str, Any]:
    """Profile a frame: per-column statistics and a list of warnings.

    Each column has ``count, missing, missing_rate, distinct`` and, by type, ``min, max, mean, std,
    skew, quantiles, histogram`` (numeric), ``min, max`` (date/time) or ``top_values`` (text and
    categories). Warnings flag constant columns, high missing rates, duplicate rows, ID-like columns and
    skew. Every value is JSON-safe (no NaN).

    Example:
        >>> import pandas as pd
        >>> p = profile(pd.DataFrame({"a": [1, 1, 1]}))
        >>> p["rows"], [w["kind"] for w in p["warnings"]]
        (3, ['constant', 'duplicate_rows'])
    """
    rows = len(df)
    columns = [profile_column(str(name), df[name]) for name in df.columns]
    warnings = [w for col in columns for w in _column_warnings(col, rows)]
    duplicates = _duplicate_rows(df) if rows else 0
    if duplicates:
        warnings.append({"column": None, "kind": "duplicate_rows",
                         "message": f"{duplicates} of {rows} rows are exact duplicates of an earlier row"})
    return {"rows": rows, "columns_count": len(columns), "duplicate_rows": duplicates,
            "columns": columns, "warnings": warnings}


def profile_html(report: dict[str, Any], *, title: str = "Data profile") -> str:
    """A self-contained HTML page for a :func:`profile` result (inline SVG charts, no external files)."""
    from loopml.data._html import render

    return render(report, title=title)
