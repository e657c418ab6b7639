"""Model-quality metrics on plain arrays; a metric that cannot be computed is None, never a crash."""

from __future__ import annotations

import math

import numpy as np

BINARY = "BinaryClassification"
MULTICLASS = "MulticlassClassification"
REGRESSION = "Regression"
PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION)

LOWER_IS_BETTER = frozenset({"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"})
METRICS = {
    BINARY: (
        "accuracy", "precision", "recall", "f1", "auc",
        "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate",
    ),
    MULTICLASS: ("accuracy", "weighted_precision", "weighted_recall", "weighted_f1"),
    REGRESSION: ("mae", "mse", "rmse", "r2"),
}  # fmt: skip


def infer_problem_type(labels: np.ndarray) -> str:
    """Regression for fractional numbers, binary for at most two classes, multiclass otherwise.

    ``labels`` are present values in common form (float64, or text; see :mod:`loopml.monitor._labels`).
    """
    if labels.dtype.kind == "f" and not np.all(labels == np.floor(labels)):
        return REGRESSION
    return BINARY if np.unique(labels).size <= 2 else MULTICLASS


def binary(truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None) -> dict[str, float | None]:
    """Binary metrics of boolean ``truth`` / ``predicted`` (True = positive class); AUC from ``scores``."""
    if truth.size == 0:
        return dict.fromkeys(METRICS[BINARY])
    return _binary(truth.astype(bool), predicted.astype(bool), scores)


def multiclass(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Multiclass metrics of two aligned text arrays."""
    return dict.fromkeys(METRICS[MULTICLASS]) if truth.size == 0 else _multiclass(truth, predicted)


def regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Regression metrics of two aligned float arrays."""
    if truth.size == 0:
        return dict.fromkeys(METRICS[REGRESSION])
    return _regression(truth.astype(np.float64), predicted.astype(np.float64))


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray) -> dict[str, dict[str, int]]:
    """Counts by true label, then predicted label, as Model Monitor writes ``confusion_matrix``."""
    labels = sorted(set(truth.tolist()) | set(predicted.tolist()))
    out: dict[str, dict[str, int]] = {a: dict.fromkeys(labels, 0) for a in labels}
    for actual, guess in zip(truth.tolist(), predicted.tolist(), strict=True):
        out[actual][guess] += 1
    return out


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _binary(truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None) -> dict[str, float | None]:
    tp = float(np.sum(truth & predicted))
    tn = float(np.sum(~truth & ~predicted))
    fp = float(np.sum(~truth & predicted))
    fn = float(np.sum(truth & ~predicted))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = (
        _ratio(2 * precision * recall, precision + recall)
        if precision is not None and recall is not None
        else None
    )
    return {
        "accuracy": (tp + tn) / truth.size,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": _auc(truth, scores),
        "true_positive_rate": recall,
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
    }


def _auc(truth: np.ndarray, scores: np.ndarray | None) -> float | None:
    """Area under the ROC curve of the rows with a finite score; None without both classes."""
    if scores is None:
        return None
    scores = scores.astype(np.float64)
    scored = np.isfinite(scores)
    truth = truth[scored]
    if truth.all() or not truth.any():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(truth, scores[scored]))


def _multiclass(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(
        truth, predicted, average="weighted", zero_division=0
    )
    return {
        "accuracy": float(np.mean(truth == predicted)),
        "weighted_precision": float(precision),
        "weighted_recall": float(recall),
        "weighted_f1": float(f1),
    }


def _regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    error = predicted - truth
    mse = float(np.mean(error**2))
    spread = float(np.sum((truth - truth.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(error))),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": 1.0 - float(np.sum(error**2)) / spread if spread > 0 else None,
    }
