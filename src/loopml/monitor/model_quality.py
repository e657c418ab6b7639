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
from typing import Any, cast

import numpy as np
import pandas as pd

from loopml.errors import ValidationError
from loopml.monitor import _labels as lab
from loopml.monitor import _metrics as m
from loopml.monitor import violations as v

OPERATORS = ("LessThanThreshold", "GreaterThanThreshold")
_SECTIONS = {m.BINARY: "binary_classification_metrics", m.MULTICLASS: "multiclass_classification_metrics",
             m.REGRESSION: "regression_metrics"}
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
        confusion_matrix: Classification: counts by true label, then predicted label (labels as text).
        bounds: Metric name to ``(comparison_operator, threshold)`` checked.
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
    confusion_matrix: dict[str, dict[str, int]] | None = None
    bounds: dict[str, tuple[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``constraint_violations.json`` body."""
        return v.violations_document(self.violations)

    def to_statistics(self) -> dict[str, Any]:
        """Model Monitor's model-quality ``statistics.json`` body (values only, no standard deviations)."""
        section = _SECTIONS[self.problem_type]
        metrics: dict[str, Any] = {}
        if self.confusion_matrix is not None:
            metrics["confusion_matrix"] = self.confusion_matrix
        metrics.update({name: {"value": value} for name, value in self.metrics.items() if value is not None})
        return {"version": 0.0, "dataset": {"item_count": self.matched_count}, section: metrics}

    def to_constraints(self) -> dict[str, Any]:
        """Model Monitor's model-quality ``constraints.json`` body: each checked metric's bound."""
        section = _SECTIONS[self.problem_type].replace("_metrics", "_constraints")
        body = {name: {"threshold": limit, "comparison_operator": op} for name, (op, limit) in self.bounds.items()}
        return {"version": 0.0, section: body}


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
    probability_threshold: float | None = None,
    min_rows: int = 1,
) -> ModelQualityReport:
    """Join one window's predictions with ground truth and check its metrics.

    Labels and predictions are compared by value, whatever their types: ``0``, ``0.0``, ``"0"`` and
    ``False`` are one class (see :mod:`loopml.monitor._labels`); ids are matched the same way.

    Args:
        predictions_df: Captured predictions: ``on`` and ``prediction_column`` (and, optionally,
            ``probability_column`` with the positive-class score, used for AUC).
        ground_truth_df: Labels: ``on`` and ``label_column``.
        on: The id column both frames share (``eventId``, or ``inferenceId`` when callers set one).
        baseline_metrics: Metric values of the baseline (e.g. the evaluation set).
        thresholds: Metric name to a degradation number or an absolute bound (see the module doc).
        problem_type: One of ``BinaryClassification``, ``MulticlassClassification``, ``Regression``;
            inferred from the labels when None.
        prediction_column: Column of predicted labels or values.
        label_column: Column of true labels or values.
        probability_column: Optional column of positive-class scores.
        positive_label: The positive class for binary metrics; default 1 (or True), else the largest label.
        probability_threshold: Binary models, as Model Monitor's ``probability_threshold_attribute``: the
            predicted class is positive when the score is at least this. The score is
            ``probability_column`` when present, else the prediction itself (a model that returns a
            probability, like XGBoost's ``binary:logistic``).
        min_rows: Fewest matched rows needed to compute metrics.

    Returns:
        A :class:`ModelQualityReport`.

    Raises:
        ValidationError: a required column is missing, the problem type is unknown, a threshold names an
            unknown metric or lacks its baseline value, or a regression has non-numeric values.
    """
    _require(predictions_df, "predictions_df", (on, prediction_column))
    _require(ground_truth_df, "ground_truth_df", (on, label_column))
    _check_threshold(probability_threshold)
    joined, counts = _join(predictions_df, ground_truth_df, on, label_column)
    labels = _Labels.of(joined, prediction_column, label_column, probability_column, probability_threshold)
    all_counts = (*counts, len(joined) - labels.size)
    kind = problem_type or _infer(ground_truth_df[label_column], predictions_df[prediction_column],
                                  probability_threshold)
    if kind not in m.PROBLEM_TYPES:
        raise ValidationError(f"problem_type {kind!r} is not one of {m.PROBLEM_TYPES}.", value=kind)
    bounds = _bounds(kind, baseline_metrics or {}, thresholds or {})
    if labels.size < max(min_rows, 1):
        metrics = dict.fromkeys(m.METRICS[kind])
        return ModelQualityReport(v.INSUFFICIENT_DATA, kind, metrics, labels.size, *all_counts, bounds=bounds)
    metrics, matrix = labels.metrics(kind, positive_label, probability_threshold)
    found = tuple(_violations(metrics, bounds))
    return ModelQualityReport(v.VIOLATIONS if found else v.OK, kind, metrics, labels.size, *all_counts, found,
                              confusion_matrix=matrix, bounds=bounds)


def _check_threshold(threshold: Any) -> None:
    if threshold is None:
        return
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 <= float(threshold) <= 1:
        raise ValidationError(f"probability_threshold is {threshold!r}; give a probability in [0, 1], e.g. 0.5.",
                              value=threshold)


@dataclass(frozen=True)
class _Labels:
    """The matched rows with both values present, in one comparable form."""

    truth: np.ndarray
    predicted: np.ndarray
    scores: np.ndarray | None

    @property
    def size(self) -> int:
        return int(self.truth.size)

    @classmethod
    def of(cls, joined: pd.DataFrame, prediction: str, label: str, probability: str,
           threshold: float | None) -> _Labels:
        scores = _scores(joined, prediction, probability, threshold)
        truth, predicted = lab.common_form(lab.canonical_array(joined[label]), lab.canonical_array(joined[prediction]))
        # _scores gives an array whenever a threshold is given
        keep = lab.present(truth) & (np.isfinite(cast(np.ndarray, scores)) if threshold is not None else lab.present(predicted))
        return cls(truth[keep], predicted[keep], None if scores is None else scores[keep])

    def metrics(self, kind: str, positive_label: Any,
                threshold: float | None) -> tuple[dict[str, float | None], dict[str, dict[str, int]] | None]:
        if kind == m.REGRESSION:
            if self.truth.dtype.kind != "f":
                raise ValidationError("a Regression needs numeric labels and predictions; found text values such as "
                                      f"{_sample(self.truth, self.predicted)}. Pick a classification problem_type.")
            return m.regression(self.truth, self.predicted), None
        truth, predicted = _as_text(self.truth), _as_text(self.predicted)
        if kind == m.MULTICLASS:
            return m.multiclass(truth, predicted), m.confusion_matrix(truth, predicted)
        positive = _positive(truth, positive_label)
        if threshold is not None and self.scores is not None:
            hit = self.scores >= threshold
            predicted = np.where(hit, positive, _negative(truth, positive))
        else:
            hit = predicted == positive
        return m.binary(truth == positive, hit, self.scores), m.confusion_matrix(truth, predicted)


def _scores(joined: pd.DataFrame, prediction: str, probability: str, threshold: float | None) -> np.ndarray | None:
    column = probability if probability in joined.columns and joined[probability].notna().any() else None
    if column is None and threshold is not None:
        column = prediction
    if column is None:
        return None
    values: np.ndarray = pd.to_numeric(joined[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if threshold is not None and column == prediction and np.any((values < 0) | (values > 1)):
        raise ValidationError(f"probability_threshold needs scores in [0, 1], but {prediction!r} holds values outside "
                              f"it (e.g. {values[(values < 0) | (values > 1)][0]!r}); capture a probability column.")
    return values


def _as_text(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.array([lab.text(lab.canonical(x)) for x in values.tolist()], dtype=object)
    return values


def _sample(*columns: np.ndarray) -> list[Any]:
    return [x for c in columns for x in c.tolist() if not isinstance(x, int | float)][:3]


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
    predictions = predictions.assign(**{on: _ids(predictions[on])})
    truth = truth.assign(**{on: _ids(truth[on])})
    duplicates = int(predictions[on].duplicated().sum() + truth[on].duplicated().sum())
    predictions = predictions.drop_duplicates(subset=on, keep="last")
    truth = truth[[on, label_column]].drop_duplicates(subset=on, keep="last")
    if label_column in predictions.columns:
        predictions = predictions.drop(columns=[label_column])
    pred_ids, truth_ids = set(predictions[on]), set(truth[on])
    joined = predictions.merge(truth, on=on, how="inner")
    return joined, (len(pred_ids - truth_ids), len(truth_ids - pred_ids), duplicates)


def _ids(column: pd.Series) -> pd.Series:
    """Ids as canonical text, so ``7``, ``7.0`` and ``"7"`` name one event."""
    return pd.Series([None if (c := lab.canonical(v)) is None else lab.text(c) for v in column.tolist()],
                     index=column.index, dtype=object)


def _infer(labels: pd.Series, predictions: pd.Series, threshold: float | None) -> str:
    """The problem type from every label in the window (even unmatched ones), else from predictions."""
    if threshold is not None:
        return m.BINARY
    values = lab.canonical_array(labels if labels.notna().any() else predictions)
    (common,) = lab.common_form(values[[v is not None for v in values]])
    return m.infer_problem_type(common) if common.size else m.REGRESSION


def _positive(truth: np.ndarray, positive_label: Any) -> str:
    """The positive class as canonical text: the one given, else 1 for 0/1 labels, else the largest."""
    if positive_label is not None:
        return lab.text(lab.canonical(positive_label))
    values = set(truth.tolist())
    if not values or values <= {"0", "1"}:
        return "1"
    largest: str = max(values)
    return largest


def _negative(truth: np.ndarray, positive: str) -> str:
    others = sorted(set(truth.tolist()) - {positive})
    return others[0] if others else ("0" if positive == "1" else f"not {positive}")


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
