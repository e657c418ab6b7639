"""Baselines in SageMaker Model Monitor's shapes: ``statistics.json`` and ``constraints.json``.

``baseline(df)`` profiles a pandas frame once and returns two plain, JSON-ready dicts:

* statistics: ``{"version": 0.0, "dataset": {"item_count"}, "features": [...]}`` where each numeric
  feature has ``numerical_statistics`` (``common.num_present/num_missing``, ``mean``, ``sum``,
  ``std_dev``, ``min``, ``max`` and ``distribution.kll``) and each string feature has
  ``string_statistics`` (``common``, ``distinct_count``, ``distribution.categorical.buckets``).
* constraints: ``{"version": 0.0, "features": [...], "monitoring_config": {...}}`` with per-feature
  ``inferred_type``, ``completeness``, ``num_constraints.is_non_negative``,
  ``string_constraints.domains`` and an empty ``monitoringConfigOverrides``.

``kll.buckets`` holds ten equal-width buckets (``lower_bound``, ``upper_bound``, ``count``), as Model Monitor
shows them; ``kll.sketch`` is a KLL sketch in Deequ's form (compactor levels, ``parameters.c`` and ``k``;
see :mod:`loopml.monitor._kll`), exact for columns with few distinct values. String features list up to
``max_categories`` values. Drift checks read only these summaries, never the baseline rows. Non-finite
numbers count as missing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError
from loopml.monitor import _columns as cols
from loopml.monitor._kll import build_sketch

DISPLAY_BUCKETS = 10
MAX_CATEGORIES = 10_000
COMPARISON_METHODS = ("Robust", "Simple")


def baseline(
    df: pd.DataFrame,
    *,
    comparison_threshold: float = 0.1,
    comparison_method: str = "Robust",
    categorical_comparison_threshold: float = 0.1,
    max_domain_size: int = 50,
    max_categories: int = MAX_CATEGORIES,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Profile a baseline frame into Model Monitor ``statistics`` and ``constraints`` dicts.

    Args:
        df: The baseline data, one column per feature (usually the training set).
        comparison_threshold: Largest L-infinity (KS) distance allowed for numeric features.
        comparison_method: ``"Robust"`` (flag only distances that are also significant for the sample
            sizes) or ``"Simple"`` (flag every distance above the threshold).
        categorical_comparison_threshold: Largest L-infinity distance allowed for string features.
        max_domain_size: String features with at most this many distinct values get a ``domains``
            constraint (the set of allowed values).
        max_categories: Most frequent values listed per string feature. Drift is exact when a feature has at
            most this many distinct values, and within ``1 / (max_categories + 1)`` otherwise.

    Returns:
        ``(statistics, constraints)``, both JSON-ready dicts.

    Raises:
        ValidationError: ``df`` is not a DataFrame, or an option is out of range.

    Example:
        >>> import pandas as pd
        >>> stats, cons = baseline(pd.DataFrame({"age": [31, 40, 52], "plan": ["a", "b", "a"]}))
        >>> [f["inferred_type"] for f in cons["features"]]
        ['Integral', 'String']
    """
    _check_options(df, comparison_method, comparison_threshold, categorical_comparison_threshold)
    features = [_feature_statistics(str(name), df[name], max_categories) for name in df.columns]
    statistics = {"version": 0.0, "dataset": {"item_count": int(len(df))}, "features": features}
    config = monitoring_config(
        comparison_threshold=comparison_threshold,
        comparison_method=comparison_method,
        categorical_comparison_threshold=categorical_comparison_threshold,
    )
    constraints = {
        "version": 0.0,
        "features": [_feature_constraints(f, max_domain_size) for f in features],
        "monitoring_config": config,
    }
    return statistics, constraints


def monitoring_config(
    *,
    comparison_threshold: float = 0.1,
    comparison_method: str = "Robust",
    categorical_comparison_threshold: float = 0.1,
) -> dict[str, Any]:
    """The ``monitoring_config`` block of constraints.json, with Model Monitor's defaults."""
    return {
        "evaluate_constraints": "Enabled",
        "emit_metrics": "Enabled",
        "datatype_check_threshold": 1.0,
        "domain_content_threshold": 1.0,
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": comparison_threshold,
            "comparison_method": comparison_method,
            "categorical_comparison_threshold": categorical_comparison_threshold,
            "categorical_drift_method": "LInfinity",
        },
    }


def _check_options(df: Any, method: str, threshold: float, categorical_threshold: float) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValidationError(
            f"baseline() needs a pandas DataFrame, got {type(df).__name__}; wrap your rows in pd.DataFrame(...)."
        )
    if method not in COMPARISON_METHODS:
        raise ValidationError(
            f"comparison_method {method!r} is not supported; use one of {COMPARISON_METHODS}.", value=method
        )
    for name, value in (
        ("comparison_threshold", threshold),
        ("categorical_comparison_threshold", categorical_threshold),
    ):
        if not 0.0 < value <= 1.0:
            raise ValidationError(f"{name} is {value!r}; it must be in (0, 1], for example 0.1.", value=value)


def _feature_statistics(name: str, column: pd.Series, max_categories: int) -> dict[str, Any]:
    kind = cols.infer_type(column)
    feature: dict[str, Any] = {"name": name, "inferred_type": kind}
    if kind in cols.NUMERIC_TYPES:
        feature["numerical_statistics"] = _numerical_statistics(cols.finite_values(column), len(column))
    else:
        feature["string_statistics"] = _string_statistics(column, max_categories)
    return feature


def _numerical_statistics(values: np.ndarray, rows: int) -> dict[str, Any]:
    present = int(values.size)
    common = {"num_present": present, "num_missing": rows - present}
    if present == 0:
        return {"common": common, "mean": None, "sum": 0.0, "std_dev": None, "min": None, "max": None}
    ordered = np.sort(values)
    return {
        "common": common,
        "mean": float(ordered.mean()),
        "sum": float(ordered.sum()),
        "std_dev": float(ordered.std()),
        "min": float(ordered[0]),
        "max": float(ordered[-1]),
        "distribution": {"kll": _kll(ordered)},
    }


def _kll(ordered: np.ndarray) -> dict[str, Any]:
    low, high = float(ordered[0]), float(ordered[-1])
    if high > low:
        counts, edges = np.histogram(ordered, bins=DISPLAY_BUCKETS, range=(low, high))
    else:
        counts, edges = np.array([ordered.size]), np.array([low, high])
    buckets = [
        {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": int(counts[i])}
        for i in range(counts.size)
    ]
    return {"buckets": buckets, "sketch": build_sketch(ordered)}


def _string_statistics(column: pd.Series, max_categories: int) -> dict[str, Any]:
    counts = cols.category_counts(column)
    present = sum(counts.values())
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:max_categories]
    return {
        "common": {"num_present": present, "num_missing": int(len(column)) - present},
        "distinct_count": float(len(counts)),
        "distribution": {"categorical": {"buckets": [{"value": v, "count": c} for v, c in top]}},
    }


def _feature_constraints(feature: dict[str, Any], max_domain_size: int) -> dict[str, Any]:
    kind = feature["inferred_type"]
    stats = feature.get("numerical_statistics") or feature.get("string_statistics") or {}
    common = stats.get("common", {"num_present": 0, "num_missing": 0})
    rows = common["num_present"] + common["num_missing"]
    constraint: dict[str, Any] = {
        "name": feature["name"],
        "inferred_type": kind,
        "completeness": common["num_present"] / rows if rows else 1.0,
        "monitoringConfigOverrides": {},
    }
    if kind in cols.NUMERIC_TYPES:
        low = stats.get("min")
        constraint["num_constraints"] = {
            "is_non_negative": low is not None and not math.isnan(low) and low >= 0
        }
    elif kind == cols.STRING and 0 < stats["distinct_count"] <= max_domain_size:
        values = [b["value"] for b in stats["distribution"]["categorical"]["buckets"]]
        constraint["string_constraints"] = {"domains": sorted(values)}
    return constraint
