"""Paired bootstrap of champion-minus-challenger metric deltas on identical rows.

Each replicate draws row counts ``w`` (a multinomial resample) once and scores both models on the
same weighted rows, so the confidence interval reflects the paired difference. Metrics are written
as weighted sums, which keeps a replicate O(n) even for ROC AUC (ties count one half).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from loopml.evaluate.metrics import finite

Scorer = Callable[[np.ndarray], dict[str, float | None]]


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a @ b`` without BLAS: a threaded BLAS call waits for busy cores (11 ms vs 0.1 ms here)."""
    return float(np.einsum("i,i->", a, b))


def binary_scorer(is_pos: np.ndarray, score: np.ndarray | None, pred_pos: np.ndarray) -> Scorer:
    """Weighted accuracy, precision, recall, F1, and (with scores) ROC AUC, log loss and Brier for a binary model."""
    correct = (pred_pos == is_pos).astype(float)
    tp, fp, fn = (is_pos & pred_pos).astype(float), (~is_pos & pred_pos).astype(float), \
        (is_pos & ~pred_pos).astype(float)
    if score is not None:
        groups, inverse = np.unique(score, return_inverse=True)
        clipped = np.clip(score, 1e-15, 1 - 1e-15)
        loss = -np.where(is_pos, np.log(clipped), np.log(1 - clipped))
        brier = (score - is_pos) ** 2

    def scorer(w: np.ndarray) -> dict[str, float | None]:
        total = w.sum()
        out: dict[str, float | None] = {"accuracy": finite(_dot(w, correct) / total)}
        n_tp, n_fp, n_fn = _dot(w, tp), _dot(w, fp), _dot(w, fn)
        out["precision"] = finite(n_tp / (n_tp + n_fp)) if n_tp + n_fp else None
        out["recall"] = finite(n_tp / (n_tp + n_fn)) if n_tp + n_fn else None
        out["f1"] = finite(2 * n_tp / (2 * n_tp + n_fp + n_fn)) if n_tp + n_fp + n_fn else None
        if score is not None:
            out["roc_auc"] = _weighted_auc(inverse, len(groups), is_pos, w)
            out["log_loss"] = finite(_dot(w, loss) / total)
            out["brier"] = finite(_dot(w, brier) / total)
        return out

    return scorer


def _weighted_auc(inverse: np.ndarray, n_groups: int, is_pos: np.ndarray, w: np.ndarray) -> float | None:
    pos = np.bincount(inverse, weights=w * is_pos, minlength=n_groups)
    neg = np.bincount(inverse, weights=w * ~is_pos, minlength=n_groups)
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos == 0 or n_neg == 0:
        return None
    below = np.cumsum(neg) - neg
    return finite(np.sum(pos * (below + 0.5 * neg)) / (n_pos * n_neg))


def multiclass_scorer(correct: np.ndarray, loss: np.ndarray | None) -> Scorer:
    """Weighted accuracy and (with probabilities) log loss for a multiclass model."""
    correct = correct.astype(float)

    def scorer(w: np.ndarray) -> dict[str, float | None]:
        out: dict[str, float | None] = {"accuracy": finite(_dot(w, correct) / w.sum())}
        if loss is not None:
            out["log_loss"] = finite(_dot(w, loss) / w.sum())
        return out

    return scorer


def regression_scorer(y_true: np.ndarray, y_pred: np.ndarray) -> Scorer:
    """Weighted RMSE, MAE and R²."""
    err = y_pred - y_true

    def scorer(w: np.ndarray) -> dict[str, float | None]:
        total = w.sum()
        mean = _dot(w, y_true) / total
        ss_tot = _dot(w, (y_true - mean) ** 2)
        sq = _dot(w, err**2)
        return {
            "rmse": finite(np.sqrt(sq / total)),
            "mae": finite(_dot(w, np.abs(err)) / total),
            "r2": finite(1 - sq / ss_tot) if ss_tot > 0 else None,
        }

    return scorer


def paired_intervals(challenger: Scorer, champion: Scorer, n_rows: int, *, replicates: int,
                     seed: int, level: float = 0.95) -> dict[str, tuple[float, float] | None]:
    """Percentile intervals of ``challenger - champion`` for each metric both scorers return.

    A metric whose delta is undefined in more than half of the replicates gets None.
    """
    if replicates <= 0 or n_rows == 0:
        return {}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(replicates):
        w = np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows).astype(float)
        new, old = challenger(w), champion(w)
        for name, value in new.items():
            before = old.get(name)
            if value is not None and before is not None:
                draws.setdefault(name, []).append(value - before)
    tail = (1 - level) / 2 * 100
    out: dict[str, tuple[float, float] | None] = {}
    for name in challenger(np.ones(n_rows)):
        values = draws.get(name, [])
        if len(values) * 2 < replicates:
            out[name] = None
            continue
        low, high = np.percentile(values, [tail, 100 - tail])
        out[name] = (float(low), float(high))
    return out
