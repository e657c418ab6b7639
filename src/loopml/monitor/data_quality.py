"""Data-quality monitoring: a window of captured records against a baseline's statistics and constraints.

The checks and their ``constraint_check_type`` are Model Monitor's: ``missing_column_check``,
``extra_column_check``, ``data_type_check``, ``completeness_check``, ``categorical_values_check`` and
``baseline_drift_check``. Drift is measured per feature as the L-infinity distance (the KS statistic for
numeric features, the largest frequency difference for categorical ones), and PSI and Jensen-Shannon are
reported next to it; any of the three can be the one compared, per feature.

Degenerate windows never raise and never raise a drift alarm: an empty window, or a feature with fewer
than ``min_rows`` present values, gets ``status="insufficient_data"`` and ``None`` metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from loopml.errors import ValidationError
from loopml.monitor import _categories, _checks, _kll
from loopml.monitor import _columns as cols
from loopml.monitor import _distance as dist
from loopml.monitor import violations as v
from loopml.monitor._config import drift_threshold, feature_config
from loopml.monitor.files import _check_features

DRIFT_METRICS = ("linf", "psi", "jensen_shannon")
ThresholdSpec = float | Mapping[str, Any]


@dataclass(frozen=True)
class FeatureCheck:
    """What one feature's checks found.

    Attributes:
        name: The feature.
        inferred_type: Its baseline type (Integral, Fractional, String or Unknown).
        status: ``ok``, ``drift``, ``insufficient_data`` or ``not_checked`` (column missing).
        present_count: Non-missing values in the window.
        completeness: Share of window rows with a value; None for an empty window.
        linf: L-infinity distance (KS for numeric features); None when not computed.
        psi: Population Stability Index; None when not computed.
        jensen_shannon: Jensen-Shannon distance; None when not computed.
        metric: Which distance is compared with ``threshold``.
        threshold: The largest allowed value of ``metric``.
        unknown_fraction: Share of values outside the baseline domain (string features with a domain).
        linf_error: String features: the most ``linf`` can differ from the exact distance, because the
            baseline lists only its most frequent values (0 when it lists them all). None otherwise.
    """

    name: str
    inferred_type: str
    status: str
    present_count: int = 0
    completeness: float | None = None
    linf: float | None = None
    psi: float | None = None
    jensen_shannon: float | None = None
    metric: str = "linf"
    threshold: float | None = None
    unknown_fraction: float | None = None
    linf_error: float | None = None

    @property
    def distance(self) -> float | None:
        """The value of the compared metric."""
        value: float | None = getattr(self, self.metric)
        return value


@dataclass(frozen=True)
class QualityReport:
    """The result of :func:`check_data_quality`.

    Attributes:
        status: ``ok``, ``violations``, or ``insufficient_data`` (empty window).
        item_count: Rows in the window.
        features: One :class:`FeatureCheck` per baseline feature, in baseline order.
        violations: Every failed check.
    """

    status: str
    item_count: int
    features: tuple[FeatureCheck, ...]
    violations: tuple[v.Violation, ...]

    @property
    def drifted_features(self) -> list[str]:
        """Names of the features whose drift check failed."""
        return [f.name for f in self.features if f.status == v.DRIFT]

    def feature(self, name: str) -> FeatureCheck:
        """The check of feature ``name``; raises ``KeyError`` naming the known features."""
        for check in self.features:
            if check.name == name:
                return check
        raise KeyError(f"no feature {name!r} in this report; features: {[f.name for f in self.features]}")

    def to_dict(self) -> dict[str, Any]:
        """The ``constraint_violations.json`` body."""
        return v.violations_document(self.violations)


def check_data_quality(
    window_df: pd.DataFrame,
    statistics: dict[str, Any],
    constraints: dict[str, Any],
    *,
    thresholds: Mapping[str, ThresholdSpec] | None = None,
    min_rows: int = 30,
) -> QualityReport:
    """Check a window of records against a baseline, as Model Monitor's data-quality job does.

    Args:
        window_df: The captured records of one monitoring window, one column per feature.
        statistics: The baseline's statistics dict (from :func:`baseline` or :func:`read_statistics`).
        constraints: The baseline's constraints dict.
        thresholds: Per-feature drift thresholds: a number (largest L-infinity distance) or a mapping
            ``{"metric": "linf" | "psi" | "jensen_shannon", "threshold": number}``. Features not named
            use the constraints' ``monitoringConfigOverrides`` or ``monitoring_config``.
        min_rows: Fewest present values a feature needs for its drift and completeness checks.

    Returns:
        A :class:`QualityReport`; ``report.to_dict()`` is ``constraint_violations.json``.

    Raises:
        ValidationError: the window is not a DataFrame, the baseline dicts are malformed, or a
            threshold names an unknown feature or metric.
    """
    if not isinstance(window_df, pd.DataFrame):
        raise ValidationError(f"window_df must be a pandas DataFrame, got {type(window_df).__name__}.")
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise ValidationError(f"min_rows is {min_rows!r}; it must be a whole number >= 1, e.g. 30.")
    _check_features(statistics, "statistics")
    by_name = {c["name"]: c for c in _check_features(constraints, "constraints")["features"]}
    configs = {f["name"]: feature_config(constraints.get("monitoring_config"), by_name.get(f["name"]))
               for f in statistics["features"]}
    rules = _rules(statistics, configs, thresholds)
    if len(window_df) == 0:
        checks = tuple(
            FeatureCheck(f["name"], f["inferred_type"], v.INSUFFICIENT_DATA) for f in statistics["features"]
        )
        return QualityReport(v.INSUFFICIENT_DATA, 0, checks, ())
    found = _checks.schema_violations(window_df, statistics)
    window = _checks.unique_text_columns(window_df)
    measured: list[FeatureCheck] = []
    for feature in statistics["features"]:
        context = _Context(window, configs[feature["name"]], min_rows)
        check, problems = _check_feature(
            feature, by_name.get(feature["name"], {}), rules[feature["name"]], context
        )
        measured.append(check)
        found.extend(problems)
    return QualityReport(_overall(measured, found), len(window_df), tuple(measured), tuple(found))


def _overall(checks: list[FeatureCheck], found: list[v.Violation]) -> str:
    if found:
        return v.VIOLATIONS
    measured = [c for c in checks if c.status != v.NOT_CHECKED]
    return v.INSUFFICIENT_DATA if all(c.status == v.INSUFFICIENT_DATA for c in measured) else v.OK


@dataclass(frozen=True)
class _Context:
    window: pd.DataFrame
    config: dict[str, Any]
    min_rows: int

    def enabled(self, key: str) -> bool:
        section = (
            self.config if key == "evaluate_constraints" else self.config.get("distribution_constraints", {})
        )
        enabled: bool = section.get(key, "Enabled") == "Enabled"
        return enabled


def _rules(
    statistics: dict[str, Any],
    configs: dict[str, dict[str, Any]],
    thresholds: Mapping[str, ThresholdSpec] | None,
) -> dict[str, tuple[str, float]]:
    names = [f["name"] for f in statistics["features"]]
    unknown = sorted(set(thresholds or {}) - set(names))
    if unknown:
        raise ValidationError(
            f"thresholds name features {unknown} that are not in the baseline; known features: {names}.",
            value=unknown,
        )
    rules = {}
    for feature in statistics["features"]:
        name = feature["name"]
        default = drift_threshold(configs[name], categorical=feature["inferred_type"] == cols.STRING)
        rules[name] = _parse_threshold(name, (thresholds or {}).get(name, default))
    return rules


def _parse_threshold(name: str, spec: ThresholdSpec) -> tuple[str, float]:
    metric, value = (
        ("linf", spec)
        if not isinstance(spec, Mapping)
        else (spec.get("metric", "linf"), spec.get("threshold"))
    )
    if metric not in DRIFT_METRICS:
        raise ValidationError(
            f"threshold for {name!r} uses metric {metric!r}; use one of {DRIFT_METRICS}.", value=metric
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(
            f"threshold for {name!r} is {value!r}; it must be a positive number, e.g. 0.1.", value=value
        )
    return metric, float(value)


def _check_feature(
    feature: dict[str, Any], constraint: dict[str, Any], rule: tuple[str, float], ctx: _Context
) -> tuple[FeatureCheck, list[v.Violation]]:
    name, kind = feature["name"], feature["inferred_type"]
    if name not in ctx.window.columns:
        return FeatureCheck(name, kind, v.NOT_CHECKED, metric=rule[0], threshold=rule[1]), []
    column = ctx.window[name]
    counts = cols.category_counts(column) if kind == cols.STRING else {}
    present = sum(counts.values()) if kind == cols.STRING else int(column.notna().sum())
    completeness = present / len(column)
    found = _constraint_checks(name, kind, column, counts, constraint, completeness, ctx)
    distances, n_base, n_win, unknown, error = _distances(feature, column, counts, constraint)
    base = dict(name=name, inferred_type=kind, present_count=present, completeness=completeness,
                metric=rule[0], threshold=rule[1], unknown_fraction=unknown, linf_error=error)  # fmt: skip
    if distances is None or n_win < ctx.min_rows:
        return FeatureCheck(status=v.INSUFFICIENT_DATA, **base), found
    drifted = _is_drift(distances, rule, n_base, n_win, ctx)
    check = FeatureCheck(status=v.DRIFT if drifted else v.OK, linf=distances.linf, psi=distances.psi,
                         jensen_shannon=distances.jensen_shannon, **base)  # fmt: skip
    return check, found + [_checks.drift_violation(check)] if drifted else found


def _distances(
    feature: dict[str, Any], column: pd.Series, counts: dict[str, int], constraint: dict[str, Any]
) -> tuple[dist.Distances | None, int, int, float | None, float | None]:
    kind = feature["inferred_type"]
    if kind == cols.STRING:
        return _categorical(feature, counts, constraint)
    if kind in cols.NUMERIC_TYPES:
        return (*_numeric(feature, column), None, None)
    return None, 0, 0, None, None


def _constraint_checks(
    name: str,
    kind: str,
    column: pd.Series,
    counts: dict[str, int],
    constraint: dict[str, Any],
    completeness: float,
    ctx: _Context,
) -> list[v.Violation]:
    if not ctx.enabled("evaluate_constraints"):
        return []
    found = _checks.constraint_violations(name, kind, column, constraint, completeness, ctx)
    return found + _checks.domain_violation(name, counts, constraint, ctx) if kind == cols.STRING else found


def _is_drift(
    distances: dist.Distances, rule: tuple[str, float], n_base: int, n_win: int, ctx: _Context
) -> bool:
    if not ctx.enabled("perform_comparison") or getattr(distances, rule[0]) <= rule[1]:
        return False
    method = ctx.config.get("distribution_constraints", {}).get("comparison_method", "Robust")
    return method == "Simple" or distances.linf > dist.ks_critical(n_base, n_win)


def _numeric(feature: dict[str, Any], column: pd.Series) -> tuple[dist.Distances | None, int, int]:
    stats = feature.get("numerical_statistics") or {}
    sketch = stats.get("distribution", {}).get("kll", {}).get("sketch")
    points, cdf = _kll.sketch_cdf(sketch, where=f"statistics feature {feature['name']!r}")
    values = cols.finite_values(column)
    if points.size == 0 or values.size == 0:
        return None, 0, int(values.size)
    n_base = int(stats.get("common", {}).get("num_present") or 0)
    return dist.numeric_distances(points, cdf, values), n_base, int(values.size)


def _categorical(
    feature: dict[str, Any], window: dict[str, int], constraint: dict[str, Any]
) -> tuple[dist.Distances | None, int, int, float | None, float | None]:
    summary = _categories.Summary.of(feature)
    n_win = sum(window.values())
    domain = set(constraint.get("string_constraints", {}).get("domains") or ())
    unknown = sum(c for k, c in window.items() if k not in domain) / n_win if domain and n_win else None
    if summary.present == 0 or n_win == 0:
        return None, int(summary.present), n_win, unknown, None
    distances, error = _categories.compare(summary, window)
    return distances, int(summary.present), n_win, unknown, error
