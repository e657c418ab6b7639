"""Model-quality monitoring: join predictions with ground truth by event id and compare metrics.

As in Model Monitor, captured predictions and later-arriving ground-truth labels are merged on an event
id (``eventId``); ids seen on one side only are counted and reported, never silently dropped. Metrics
are those of Model Monitor's ``BinaryClassification``, ``MulticlassClassification`` and ``Regression``
problem types, and each is compared with a threshold:

* a number is the largest allowed degradation from ``baseline_metrics`` (a drop for accuracy-like
  metrics, a rise for error metrics such as ``rmse`` and ``false_positive_rate``);
* a mapping ``{"threshold": x, "comparison_operator": "LessThanThreshold" | "GreaterThanThreshold"}``
  is an absolute bound, as in Model Monitor's model-quality ``constraints.json``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from loopml.errors import ValidationError
from loopml.monitor import _metrics as m
from loopml.monitor import violations as v

OPERATORS = ("LessThanThreshold", "GreaterThanThreshold")
ThresholdSpec = float | Mapping[str, Any]


@dataclass(frozen=True)
class ModelQualityReport:
    """The result of :func:`check_model_quality`.

    Attributes:
        status: ``ok``, ``violations``, or ``insufficient_data`` (fewer matched rows than ``min_rows``).
        problem_type: ``BinaryClassification``, ``MulticlassClassification`` or ``Regression``.
        metrics: Metric name to value for this window; None where it cannot be computed.
        matched_count: Predictions that found their ground truth (and had both values).
        unmatched_predictions: Predictions with no ground truth (yet).
        unknown_ground_truth_ids: Ground-truth rows whose id matches no prediction.
        duplicate_ids: Rows dropped because their id repeated (the last one is kept).
        incomplete_rows: Matched rows dropped because the prediction or the label was missing.
        violations: Every metric that crossed its threshold.
    """

    status: str
    problem_type: str
    metrics: dict[str, float | None]
    matched_count: int
    unmatched_predictions: int
    unknown_ground_truth_ids: int
    duplicate_ids: int
    incomplete_rows: int = 0
    violations: tuple[v.Violation, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The ``constraint_violations.json`` body."""
        return v.violations_document(self.violations)

    def to_statistics(self) -> dict[str, Any]:
        """Model Monitor's model-quality ``statistics.json`` body (values only, no standard deviations)."""
        section = {
            m.BINARY: "binary_classification_metrics",
            m.MULTICLASS: "multiclass_classification_metrics",
            m.REGRESSION: "regression_metrics",
        }[self.problem_type]
        metrics = {name: {"value": value} for name, value in self.metrics.items() if value is not None}
        return {"version": 0.0, "dataset": {"item_count": self.matched_count}, section: metrics}


def check_model_quality(
    predictions_df: pd.DataFrame,
    ground_truth_df: pd.DataFrame,
    *,
    on: str = "eventId",
    baseline_metrics: Mapping[str, float] | None = None,
    thresholds: Mapping[str, ThresholdSpec] | None = None,
    problem_type: str | None = None,
    prediction_column: str = "prediction",
    label_column: str = "label",
    probability_column: str = "probability",
    positive_label: Any = None,
    min_rows: int = 1,
) -> ModelQualityReport:
    """Join one window's predictions with ground truth and check its metrics.

    Args:
        predictions_df: Captured predictions: ``on`` and ``prediction_column`` (and, optionally,
            ``probability_column`` with the positive-class score, used for AUC).
        ground_truth_df: Labels: ``on`` and ``label_column``.
        on: The event-id column both frames share.
        baseline_metrics: Metric values of the baseline (e.g. the evaluation set).
        thresholds: Metric name to a degradation number or an absolute bound (see the module doc).
        problem_type: One of ``BinaryClassification``, ``MulticlassClassification``, ``Regression``;
            inferred from the labels when None.
        prediction_column: Column of predicted labels or values.
        label_column: Column of true labels or values.
        probability_column: Optional column of positive-class scores.
        positive_label: The positive class for binary metrics; default 1/True, or the larger label.
        min_rows: Fewest matched rows needed to compute metrics.

    Returns:
        A :class:`ModelQualityReport`.

    Raises:
        ValidationError: a required column is missing, the problem type is unknown, or a threshold
            names an unknown metric or lacks its baseline value.
    """
    _require(predictions_df, "predictions_df", (on, prediction_column))
    _require(ground_truth_df, "ground_truth_df", (on, label_column))
    joined, counts = _join(predictions_df, ground_truth_df, on, label_column)
    complete = joined.dropna(subset=[prediction_column, label_column])
    counts = (*counts, len(joined) - len(complete))
    joined = complete
    truth = joined[label_column].to_numpy()
    kind = problem_type or _infer(ground_truth_df[label_column], predictions_df[prediction_column])
    if kind not in m.PROBLEM_TYPES:
        raise ValidationError(f"problem_type {kind!r} is not one of {m.PROBLEM_TYPES}.", value=kind)
    bounds = _bounds(kind, baseline_metrics or {}, thresholds or {})
    if len(joined) < max(min_rows, 1):
        metrics = dict.fromkeys(m.METRICS[kind])
        return ModelQualityReport(v.INSUFFICIENT_DATA, kind, metrics, len(joined), *counts)
    scores = joined[probability_column].to_numpy() if probability_column in joined.columns else None
    positive = _positive(truth, positive_label)
    metrics = m.compute(kind, truth, joined[prediction_column].to_numpy(), scores=scores, positive=positive)
    found = tuple(_violations(metrics, bounds))
    return ModelQualityReport(v.VIOLATIONS if found else v.OK, kind, metrics, len(joined), *counts, found)


def _require(frame: Any, argument: str, columns: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"{argument} must be a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(
            f"{argument} has no column(s) {missing}; it has {list(frame.columns)}. Rename the columns or pass "
            "on=/prediction_column=/label_column=.",
            value=missing,
        )


def _join(
    predictions: pd.DataFrame, truth: pd.DataFrame, on: str, label_column: str
) -> tuple[pd.DataFrame, tuple[int, int, int]]:
    duplicates = int(predictions[on].duplicated().sum() + truth[on].duplicated().sum())
    predictions = predictions.drop_duplicates(subset=on, keep="last")
    truth = truth[[on, label_column]].drop_duplicates(subset=on, keep="last")
    if label_column in predictions.columns:
        predictions = predictions.drop(columns=[label_column])
    pred_ids, truth_ids = set(predictions[on]), set(truth[on])
    joined = predictions.merge(truth, on=on, how="inner")
    return joined, (len(pred_ids - truth_ids), len(truth_ids - pred_ids), duplicates)


def _infer(labels: pd.Series, predictions: pd.Series) -> str:
    """The problem type from every label in the window (even unmatched ones), else from predictions."""
    values = labels.dropna().to_numpy() if labels.notna().any() else predictions.dropna().to_numpy()
    return m.infer_problem_type(values) if values.size else m.REGRESSION


def _positive(truth: Any, positive_label: Any) -> Any:
    if positive_label is not None or truth.size == 0:
        return positive_label
    values = set(pd.unique(truth).tolist())
    if values <= {0, 1}:
        return 1
    return max(values, key=str)


def _bounds(
    kind: str, baseline: Mapping[str, float], thresholds: Mapping[str, ThresholdSpec]
) -> dict[str, tuple[str, float]]:
    known = m.METRICS[kind]
    bounds = {}
    for metric, spec in thresholds.items():
        if metric not in known:
            raise ValidationError(f"threshold for unknown metric {metric!r}; {kind} metrics are {known}.")
        if isinstance(spec, Mapping):
            bounds[metric] = _absolute(metric, spec)
        elif metric not in baseline:
            raise ValidationError(
                f"threshold {metric!r}={spec!r} is a degradation from the baseline, but baseline_metrics has no "
                f"{metric!r}; add it or give an absolute bound {{'threshold': x, 'comparison_operator': ...}}."
            )
        else:
            lower = metric in m.LOWER_IS_BETTER
            limit = baseline[metric] + spec if lower else baseline[metric] - spec
            bounds[metric] = ("GreaterThanThreshold" if lower else "LessThanThreshold", float(limit))
    return bounds


def _absolute(metric: str, spec: Mapping[str, Any]) -> tuple[str, float]:
    operator, value = spec.get("comparison_operator", "LessThanThreshold"), spec.get("threshold")
    if operator not in OPERATORS or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"threshold for {metric!r} is {dict(spec)!r}; use {{'threshold': number, 'comparison_operator': "
            f"one of {OPERATORS}}}.",
            value=dict(spec),
        )
    return operator, float(value)


def _violations(metrics: dict[str, float | None], bounds: dict[str, tuple[str, float]]) -> list[v.Violation]:
    found = []
    for metric, (operator, limit) in bounds.items():
        value = metrics.get(metric)
        if value is None:
            continue
        breached = value < limit if operator == "LessThanThreshold" else value > limit
        if breached:
            found.append(
                v.Violation(
                    operator,
                    f"Metric {metric} with {value:.4f} was {operator} {limit:.4f}; investigate recent data or "
                    "labels and retrain if the drop is real.",
                    metric_name=metric,
                )
            )
    return found
