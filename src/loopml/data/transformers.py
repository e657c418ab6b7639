"""The row-level transformers a recipe compiles to, besides scikit-learn's own.

Each class is a plain scikit-learn transformer: the constructor only stores its arguments, ``fit``
learns plain attributes (lists, dicts, floats), ``transform`` takes a DataFrame and returns a new one
with the same index. They hold no code or callables, so skops can save and load them; the model format
trusts exactly the names in :data:`TRUSTED_TYPES`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from loopml.errors import ValidationError

DATETIME_PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute", "is_weekend")
TEXT_FEATURES = ("length", "tokens")
CAST_TYPES = ("int", "float", "str", "bool", "category", "datetime")
_TOKEN = re.compile(r"\S+")


class _FrameTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn ships no types
    """DataFrame in, DataFrame out; ``set_output`` is accepted and ignored (output is always pandas)."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> _FrameTransformer:
        self.n_features_in_ = X.shape[1]
        return self

    def set_output(self, *, transform: str | None = None) -> _FrameTransformer:
        return self

    def _need(self, X: pd.DataFrame, columns: list[str]) -> None:
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise ValidationError(
                f"{type(self).__name__} needs columns {missing}, which the input does not have; "
                f"input columns: {list(X.columns)[:30]}", columns=missing,
            )


class ImputeColumns(_FrameTransformer):
    """Fill missing values (NaN, None, NaT) learned at fit time.

    Args:
        columns: the columns to fill.
        strategy: ``mean`` or ``median`` (numeric columns), ``most_frequent`` or ``constant`` (any).
        fill_value: the value for ``constant``.
    """

    def __init__(self, columns: list[str], strategy: str = "mean", fill_value: Any = None) -> None:
        self.columns = columns
        self.strategy = strategy
        self.fill_value = fill_value

    def fit(self, X: pd.DataFrame, y: Any = None) -> ImputeColumns:
        self._need(X, self.columns)
        self.fill_ = {col: _fill_value(X[col], self.strategy, self.fill_value, col) for col in self.columns}
        return super().fit(X, y)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._need(X, self.columns)
        out = X.copy()
        for col, value in self.fill_.items():
            if value is not None:
                out[col] = out[col].astype(object).where(out[col].notna(), value).infer_objects()
        return out


def _fill_value(values: pd.Series, strategy: str, constant: Any, col: str) -> Any:
    if strategy == "constant":
        return constant
    clean = values.dropna()
    if clean.empty:
        return None
    if strategy == "most_frequent":
        value = clean.value_counts().sort_index(kind="stable").idxmax()
        return value.item() if isinstance(value, np.generic) else value
    numeric = pd.to_numeric(clean, errors="coerce")
    if numeric.isna().any():
        raise ValidationError(
            f"impute {strategy} needs a numeric column, but {col!r} holds text; use most_frequent or constant",
            column=col,
        )
    return float(numeric.mean() if strategy == "mean" else numeric.median())


class ClipColumns(_FrameTransformer):
    """Clip numeric columns to ``[lower, upper]`` (either bound may be None)."""

    def __init__(self, columns: list[str], lower: float | None = None, upper: float | None = None) -> None:
        self.columns = columns
        self.lower = lower
        self.upper = upper

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._need(X, self.columns)
        out = X.copy()
        for col in self.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").clip(self.lower, self.upper)
        return out


class LogColumns(_FrameTransformer):
    """Replace numeric columns by ``log(1 + max(x, 0))`` (defined for every input, missing stays missing)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._need(X, self.columns)
        out = X.copy()
        for col in self.columns:
            out[col] = np.log1p(pd.to_numeric(out[col], errors="coerce").astype(float).clip(lower=0))
        return out


class BinColumns(_FrameTransformer):
    """Replace numeric columns by their bin number 0..k-1 (missing stays missing).

    Args:
        columns: the columns to bin.
        bins: the number of bins, or the inner edges as a list of numbers.
        strategy: ``quantile`` (equal counts) or ``uniform`` (equal widths) when ``bins`` is a number.
    """

    def __init__(self, columns: list[str], bins: int | list[float] = 5, strategy: str = "quantile") -> None:
        self.columns = columns
        self.bins = bins
        self.strategy = strategy

    def fit(self, X: pd.DataFrame, y: Any = None) -> BinColumns:
        self._need(X, self.columns)
        self.edges_ = {col: self._edges(pd.to_numeric(X[col], errors="coerce")) for col in self.columns}
        return super().fit(X, y)

    def _edges(self, values: pd.Series) -> list[float]:
        if isinstance(self.bins, list):
            return sorted(float(b) for b in self.bins)
        clean = values.dropna().astype(float)
        if clean.empty:
            return []
        if self.strategy == "uniform":
            inner = np.linspace(clean.min(), clean.max(), self.bins + 1)[1:-1]
        else:
            inner = np.quantile(clean, np.linspace(0, 1, self.bins + 1)[1:-1])
        return sorted({float(e) for e in inner})

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._need(X, self.columns)
        out = X.copy()
        for col in self.columns:
            values = pd.to_numeric(out[col], errors="coerce").astype(float)
            binned = np.digitize(values.fillna(0.0), self.edges_[col], right=False).astype(float)
            out[col] = np.where(values.isna(), np.nan, binned)
        return out


class DateTimeParts(_FrameTransformer):
    """Add ``<column>_<part>`` columns (year, month, day, dayofweek, dayofyear, hour, minute,
    is_weekend) for date/time columns; the source columns are dropped unless ``drop`` is False."""

    def __init__(self, columns: list[str], parts: list[str] | None = None, drop: bool = True) -> None:
        self.columns = columns
        self.parts = parts
        self.drop = drop

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._need(X, self.columns)
        out = X.copy()
        for col in self.columns:
            stamp = pd.to_datetime(out[col], errors="coerce", utc=True)
            for part in self.parts or ["year", "month", "day", "dayofweek", "hour"]:
                value = stamp.dt.dayofweek >= 5 if part == "is_weekend" else getattr(stamp.dt, part)
                out[f"{col}_{part}"] = value.astype(float).where(stamp.notna())
        return out.drop(columns=self.columns) if self.drop else out


class TextStats(_FrameTransformer):
    """Add ``<column>_length`` (characters) and ``<column>_tokens`` (whitespace-separated words) for
    text columns; the source columns are dropped unless ``drop`` is False. Missing text counts as 0."""

    def __init__(self, columns: list[str], features: list[str] | None = None, drop: bool = True) -> None:
        self.columns = columns
        self.features = features
        self.drop = drop

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._need(X, self.columns)
        out = X.copy()
        for col in self.columns:
            text = out[col].astype("string").fillna("")
            for feature in self.features or list(TEXT_FEATURES):
                counts = text.str.len() if feature == "length" else text.str.count(_TOKEN.pattern)
                out[f"{col}_{feature}"] = counts.astype("int64")
        return out.drop(columns=self.columns) if self.drop else out


class DropColumns(_FrameTransformer):
    """Drop columns (absent ones are ignored, so serving input need not carry them)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.drop(columns=[c for c in self.columns if c in X.columns])


class RenameColumns(_FrameTransformer):
    """Rename columns by an ``{old: new}`` mapping."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._need(X, list(self.mapping))
        return X.rename(columns=self.mapping)


class CastColumns(_FrameTransformer):
    """Cast columns by a ``{column: type}`` mapping; types: int, float, str, bool, category, datetime.
    Values that do not convert become missing (``int`` becomes the nullable ``Int64``)."""

    def __init__(self, types: dict[str, str]) -> None:
        self.types = types

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._need(X, list(self.types))
        out = X.copy()
        for col, kind in self.types.items():
            out[col] = _cast(out[col], kind)
        return out


def _cast(values: pd.Series, kind: str) -> pd.Series:
    if kind == "int":
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    if kind == "float":
        return pd.to_numeric(values, errors="coerce").astype(float)
    if kind == "bool":
        return values.map(_to_bool).astype("boolean")
    if kind == "datetime":
        return pd.to_datetime(values, errors="coerce", utc=True)
    if kind == "category":
        return values.astype("string").astype(object).where(values.notna())
    return values.astype("string").astype(object).where(values.notna())


def _to_bool(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y", "1.0"):
        return True
    if text in ("0", "false", "f", "no", "n", "0.0"):
        return False
    return None


class SqlExpression(_FrameTransformer):
    """Add (or replace) column ``name`` computed by a row-level DuckDB SQL expression over the columns,
    e.g. ``"amount / nullif(tenure, 0)"``. Runs in a DuckDB session with file access switched off."""

    def __init__(self, name: str, expr: str) -> None:
        self.name = name
        self.expr = expr

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        import duckdb

        frame = X.reset_index(drop=True).assign(__loopml_row=np.arange(len(X)))
        conn = duckdb.connect(":memory:")
        try:
            conn.register("input", frame)
            conn.execute("SET enable_external_access = false")
            conn.execute("SET lock_configuration = true")
            query = f'SELECT ({self.expr}) AS v FROM input ORDER BY "__loopml_row"'
            values = conn.execute(query).fetch_df()["v"]
        except duckdb.Error as exc:
            raise ValidationError(
                f"derived column {self.name!r}: the expression {self.expr!r} failed: "
                f"{str(exc).splitlines()[0]}", column=self.name,
            ) from exc
        finally:
            conn.close()
        out = X.copy()
        out[self.name] = values.to_numpy()
        return out


TRUSTED_TYPES: list[str] = [
    f"{cls.__module__}.{cls.__qualname__}"
    for cls in (ImputeColumns, ClipColumns, LogColumns, BinColumns, DateTimeParts, TextStats, DropColumns, RenameColumns,
                CastColumns, SqlExpression)
]
"""Qualified names of every transformer in this module: the model format may load exactly these."""
