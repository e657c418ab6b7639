"""SHAP explanations: global importance, per-row attributions and the baseline kept for monitoring.

Tree ensembles (XGBoost, LightGBM, scikit-learn forests and boosting) use ``shap.TreeExplainer``;
linear scikit-learn models use ``shap.LinearExplainer``; anything else uses the model-agnostic
permutation explainer on the probability (or prediction) with a small background sample. Failures
never abort an evaluation: they come back as ``status="failed"`` with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from loopml.evaluate.metrics import finite

_TREE_MODULES = ("xgboost", "lightgbm", "catboost")
_TREE_NAMES = ("Forest", "Trees", "GradientBoosting", "DecisionTree")


class Explanation(BaseModel):
    """SHAP attributions on a sample of the test rows.

    Attributes:
        status: ``ok``, ``skipped`` or ``failed``.
        reason: why it was skipped or failed.
        explainer: ``tree``, ``linear`` or ``permutation``.
        output: what the attributions explain (``log-odds``, ``probability``, ``prediction``...).
        features: column names, in the order of each attribution row.
        global_importance: mean |SHAP| per feature, largest first.
        base_value: the explainer's expected value.
        rows: test-frame index labels (as strings) of the explained rows.
        attributions: per-row SHAP values, one list per row in ``rows``; this is the baseline that
            attribution-drift monitoring compares against.
    """

    model_config = ConfigDict(frozen=True)

    status: str
    reason: str | None = None
    explainer: str | None = None
    output: str | None = None
    features: list[str] = []
    global_importance: dict[str, float] = {}
    base_value: float | None = None
    rows: list[str] = []
    attributions: list[list[float]] = []


def _unwrap(model: Any) -> Any:
    """The estimator inside a model loaded by :func:`loopml.models.load` (so trees get TreeExplainer)."""
    inner = getattr(model, "model", None)
    return inner if inner is not None and type(model).__module__.startswith("loopml.models") else model


def explainer_kind(model: Any) -> str:
    """``tree``, ``linear`` or ``permutation``: which SHAP explainer suits ``model``."""
    cls = type(_unwrap(model))
    if cls.__module__.split(".")[0] in _TREE_MODULES or any(n in cls.__name__ for n in _TREE_NAMES):
        return "tree"
    if cls.__module__.startswith("sklearn.linear_model") and hasattr(model, "coef_"):
        return "linear"
    return "permutation"


def explain(model: Any, frame: pd.DataFrame, *, sample: int, seed: int = 0,
            class_index: int | None = None) -> Explanation:
    """SHAP values of ``model`` on up to ``sample`` rows of ``frame`` (its feature columns only).

    Args:
        model: a fitted predictor.
        frame: the feature columns of the test set.
        sample: the number of rows to explain; 0 skips explanations.
        seed: seed for the row sample.
        class_index: the ``predict_proba`` column to explain for classifiers (None: regression).
    """
    if sample <= 0:
        return Explanation(status="skipped", reason="shap_sample is 0")
    rows = frame.sample(n=min(sample, len(frame)), random_state=seed) if len(frame) > sample else frame
    if len(rows) == 0:
        return Explanation(status="skipped", reason="no rows to explain")
    kind = explainer_kind(model)
    if kind != "permutation":
        model = _unwrap(model)
    try:
        values, base, output = _shap_values(model, rows, frame, kind=kind, class_index=class_index, seed=seed)
    except Exception as exc:  # noqa: BLE001 - a failed explanation must not fail the evaluation
        return Explanation(status="failed", explainer=kind,
                           reason=f"{kind} SHAP explainer failed: {type(exc).__name__}: {exc}"[:500])
    return _build(values, base, rows, kind=kind, output=output)


def _shap_values(model: Any, rows: pd.DataFrame, frame: pd.DataFrame, *, kind: str,
                 class_index: int | None, seed: int) -> tuple[np.ndarray, Any, str]:
    import shap

    if kind == "tree":
        explanation = shap.TreeExplainer(model)(rows)
        output = "log-odds" if class_index is not None else "prediction"
    elif kind == "linear":
        background = frame.sample(n=min(200, len(frame)), random_state=seed)
        explanation = shap.LinearExplainer(model, background)(rows)
        output = "log-odds" if class_index is not None else "prediction"
    else:
        background = frame.sample(n=min(50, len(frame)), random_state=seed)
        masker = shap.maskers.Independent(background, max_samples=50)
        evals = 10 * (2 * rows.shape[1] + 1)  # 10 antithetic permutations per row
        explanation = shap.explainers.Permutation(_output_fn(model, rows.columns, class_index), masker)(
            rows, silent=True, max_evals=evals, batch_size=50)
        output = "probability" if class_index is not None else "prediction"
    return _pick_class(explanation.values, explanation.base_values, class_index) + (output,)


def _output_fn(model: Any, columns: pd.Index, class_index: int | None) -> Any:
    def predict(x: Any) -> np.ndarray:
        frame = x if isinstance(x, pd.DataFrame) else pd.DataFrame(x, columns=columns)
        if class_index is None:
            return np.asarray(model.predict(frame), dtype=float)
        return np.asarray(model.predict_proba(frame), dtype=float)[:, class_index]

    return predict


def _pick_class(values: np.ndarray, base: Any, class_index: int | None) -> tuple[np.ndarray, Any]:
    values = np.asarray(values, dtype=float)
    base = np.asarray(base, dtype=float)
    if values.ndim == 3:
        column = class_index if class_index is not None and class_index < values.shape[2] else -1
        values = values[:, :, column]
        base = base[..., column] if base.ndim else base
    return values, base


def _build(values: np.ndarray, base: Any, rows: pd.DataFrame, *, kind: str, output: str) -> Explanation:
    features = [str(c) for c in rows.columns]
    values = np.where(np.isfinite(values), values, 0.0)
    importance = np.abs(values).mean(axis=0)
    order = np.argsort(-importance)
    base_arr = np.asarray(base, dtype=float).reshape(-1)
    return Explanation(
        status="ok", explainer=kind, output=output, features=features,
        global_importance={features[i]: round(float(importance[i]), 8) for i in order},
        base_value=finite(base_arr.mean()) if base_arr.size else None,
        rows=[str(i) for i in rows.index],
        attributions=np.round(values, 6).tolist(),
    )
