"""Model-quality metrics and curves, with a reason for every value that is undefined.

A metric is either a finite float or ``None`` plus a sentence in ``reasons`` saying why (one class
only, no positive predictions, ...). Nothing here returns NaN.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn import metrics as skm

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier")
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae", "mape"})
ALIASES = {"auc": "roc_auc", "average_precision": "pr_auc", "f1_score": "f1", "logloss": "log_loss"}

Values = dict[str, float | None]
Reasons = dict[str, str]


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is NaN, infinite or missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, *,
                           classes: tuple[Any, ...], positive_label: Any) -> tuple[Values, Reasons]:
    """Accuracy, precision, recall, F1, ROC AUC, PR AUC, log loss and Brier score.

    Binary tasks score ``positive_label``; multiclass tasks use macro averages, one-vs-rest AUC and
    the multiclass Brier score (mean squared distance to the one-hot truth).
    """
    values: Values = {}
    reasons: Reasons = {}
    if len(y_true) == 0:
        return dict.fromkeys(CLASSIFICATION_METRICS), dict.fromkeys(CLASSIFICATION_METRICS, "no rows")
    values["accuracy"] = finite(np.mean(y_true == y_pred))
    binary = positive_label is not None and len(classes) == 2
    _label_metrics(values, reasons, y_true, y_pred, classes=classes, positive_label=positive_label)
    if proba is None:
        for name in ("roc_auc", "pr_auc", "log_loss", "brier"):
            values[name], reasons[name] = None, "the model has no predict_proba"
        return values, reasons
    if binary:
        _binary_scores(values, reasons, y_true == positive_label, proba[:, classes.index(positive_label)])
    else:
        _multiclass_scores(values, reasons, y_true, proba, classes)
    return values, reasons


def _label_metrics(values: Values, reasons: Reasons, y_true: np.ndarray, y_pred: np.ndarray, *,
                   classes: tuple[Any, ...], positive_label: Any) -> None:
    if positive_label is not None and len(classes) == 2:
        yt, yp = y_true == positive_label, y_pred == positive_label
        tp, fp, fn = int(np.sum(yt & yp)), int(np.sum(~yt & yp)), int(np.sum(yt & ~yp))
        values["precision"] = tp / (tp + fp) if tp + fp else None
        values["recall"] = tp / (tp + fn) if tp + fn else None
        values["f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
        if tp + fp == 0:
            reasons["precision"] = f"no row is predicted as the positive label {positive_label!r}"
        if tp + fn == 0:
            reasons["recall"] = f"no row has the positive label {positive_label!r}"
        if tp + fp + fn == 0:
            reasons["f1"] = f"no row has or is predicted as the positive label {positive_label!r}"
        return
    labels = [c for c in classes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true.astype(str), y_pred.astype(str), labels=[str(c) for c in labels], average="macro",
            zero_division=0)
    values.update(precision=finite(p), recall=finite(r), f1=finite(f))


def _binary_scores(values: Values, reasons: Reasons, is_pos: np.ndarray, score: np.ndarray) -> None:
    clipped = np.clip(score, 1e-15, 1 - 1e-15)
    values["log_loss"] = finite(-np.mean(np.where(is_pos, np.log(clipped), np.log(1 - clipped))))
    values["brier"] = finite(np.mean((score - is_pos) ** 2))
    if is_pos.all() or not is_pos.any():
        why = "the rows hold only one class, so ranking metrics are undefined"
        values["roc_auc"], reasons["roc_auc"] = None, why
        values["pr_auc"], reasons["pr_auc"] = None, why
        return
    values["roc_auc"] = finite(skm.roc_auc_score(is_pos, score))
    values["pr_auc"] = finite(skm.average_precision_score(is_pos, score))


def _multiclass_scores(values: Values, reasons: Reasons, y_true: np.ndarray, proba: np.ndarray,
                       classes: tuple[Any, ...]) -> None:
    onehot = np.stack([y_true == c for c in classes], axis=1).astype(float)
    clipped = np.clip(proba, 1e-15, 1.0)
    values["log_loss"] = finite(-np.mean(np.log(np.sum(clipped * onehot, axis=1))))
    values["brier"] = finite(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    present = onehot.sum(axis=0) > 0
    if present.sum() < 2:
        values["roc_auc"], reasons["roc_auc"] = None, "the rows hold only one class"
    else:
        aucs = [skm.roc_auc_score(onehot[:, i], proba[:, i]) for i in np.nonzero(present)[0]]
        values["roc_auc"] = finite(np.mean(aucs))
    values["pr_auc"], reasons["pr_auc"] = None, "PR AUC is reported for binary tasks only"


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[Values, Reasons]:
    """RMSE, MAE, R² and MAPE (MAPE skips rows whose true value is 0 and says so)."""
    if len(y_true) == 0:
        return dict.fromkeys(REGRESSION_METRICS), dict.fromkeys(REGRESSION_METRICS, "no rows")
    err = y_pred - y_true
    values: Values = {"rmse": finite(np.sqrt(np.mean(err**2))), "mae": finite(np.mean(np.abs(err)))}
    reasons: Reasons = {}
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    values["r2"] = finite(1 - np.sum(err**2) / total) if total > 0 else None
    if total == 0:
        reasons["r2"] = "the true values are constant, so R2 is undefined"
    nonzero = y_true != 0
    values["mape"] = finite(np.mean(np.abs(err[nonzero] / y_true[nonzero]))) if nonzero.any() else None
    if not nonzero.any():
        reasons["mape"] = "every true value is 0, so MAPE is undefined"
    elif not nonzero.all():
        reasons["mape"] = f"{int((~nonzero).sum())} row(s) with true value 0 left out of MAPE"
    return values, reasons


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[Any, ...]) -> dict[str, Any]:
    """Confusion matrix as ``{"labels": [...], "matrix": [[...]]}``, rows true, columns predicted."""
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, ([index[v] for v in y_true], [index.get(v, 0) for v in y_pred]), 1)
    return {"labels": [str(c) for c in classes], "matrix": matrix.tolist()}


def curves(is_pos: np.ndarray, score: np.ndarray, *, bins: int = 10, points: int = 200) -> dict[str, Any]:
    """ROC, precision-recall and calibration curves, thinned to about ``points`` points each."""
    out: dict[str, Any] = {"calibration": calibration(is_pos, score, bins=bins)}
    if is_pos.all() or not is_pos.any():
        return out
    fpr, tpr, _ = skm.roc_curve(is_pos, score)
    precision, recall, _ = skm.precision_recall_curve(is_pos, score)
    out["roc"] = {"fpr": _thin(fpr, points), "tpr": _thin(tpr, points)}
    out["pr"] = {"recall": _thin(recall, points), "precision": _thin(precision, points)}
    return out


def calibration(is_pos: np.ndarray, score: np.ndarray, *, bins: int = 10) -> dict[str, list[Any]]:
    """Reliability diagram over equal-width score bins; empty bins are left out."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    mean_score = np.bincount(which, weights=score, minlength=bins)
    positives = np.bincount(which, weights=is_pos.astype(float), minlength=bins)
    keep = count > 0
    return {
        "mean_predicted": [round(float(v), 6) for v in mean_score[keep] / count[keep]],
        "fraction_positive": [round(float(v), 6) for v in positives[keep] / count[keep]],
        "count": count[keep].astype(int).tolist(),
    }


def _thin(values: np.ndarray, points: int) -> list[float]:
    idx = np.unique(np.linspace(0, len(values) - 1, min(points, len(values))).astype(int))
    return [round(float(v), 6) for v in values[idx]]
