"""SHAP explanations: global importance, per-row attributions and the baseline kept for monitoring.

Tree ensembles (XGBoost, LightGBM, scikit-learn forests and boosting) use ``shap.TreeExplainer``;
linear scikit-learn models use ``shap.LinearExplainer``; anything else uses the model-agnostic
permutation explainer on the probability (or prediction) with a small background sample. Models that
take raw columns (text, categories, booleans — a recipe pipeline in front of an estimator) are explained
in those raw columns: each non-numeric column is coded as numbers for SHAP's masker and decoded back to
its own values before every call of the model. Failures never abort an evaluation: they come back as
``status="failed"`` with the reason.
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
    kind = explainer_kind(model) if _is_numeric(frame) else "permutation"
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
        codec = _Codec(frame)
        background = codec.encode(frame.sample(n=min(50, len(frame)), random_state=seed))
        masker = shap.maskers.Independent(background, max_samples=50)
        evals = 10 * (2 * rows.shape[1] + 1)  # 10 antithetic permutations per row
        explanation = shap.explainers.Permutation(_output_fn(model, codec, class_index), masker)(
            codec.encode(rows), silent=True, max_evals=evals, batch_size=50)
        output = "probability" if class_index is not None else "prediction"
    return _pick_class(explanation.values, explanation.base_values, class_index) + (output,)


def _output_fn(model: Any, codec: _Codec, class_index: int | None) -> Any:
    def predict(x: Any) -> np.ndarray:
        frame = codec.decode(x)
        if class_index is None:
            return np.asarray(model.predict(frame), dtype=float)
        return np.asarray(model.predict_proba(frame), dtype=float)[:, class_index]

    return predict


def _is_numeric(frame: pd.DataFrame) -> bool:
    return all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in frame.dtypes)


class _Codec:
    """Raw columns as numbers for SHAP's masker: numeric columns as floats, any other column as the index of
    its value among the values seen (missing: -1), decoded back to the column's own values and dtype."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.columns = list(frame.columns)
        self.dtypes = frame.dtypes.to_dict()
        self.values = {c: pd.unique(frame[c].dropna()) for c in self.columns if not _is_numeric(frame[[c]])}

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for col in self.columns:
            if col in self.values:
                codes = pd.Index(self.values[col]).get_indexer(frame[col])
                out[col] = np.where(frame[col].isna(), -1, codes).astype(float)
            else:
                out[col] = frame[col].astype(float)
        return pd.DataFrame(out, index=frame.index)

    def decode(self, x: Any) -> pd.DataFrame:
        data = np.asarray(x, dtype=float).reshape(-1, len(self.columns))
        out = {}
        for i, col in enumerate(self.columns):
            out[col] = self._column(col, data[:, i])
        return pd.DataFrame(out)

    def _column(self, col: str, values: np.ndarray) -> pd.Series:
        if col not in self.values:
            series = pd.Series(values)
            return series if series.isna().any() else series.astype(self.dtypes[col], errors="ignore")
        codes = np.rint(values).astype(int)
        known = self.values[col]
        picked = pd.Series([known[c] if 0 <= c < len(known) else None for c in codes], dtype=object)
        return picked if picked.isna().any() else picked.astype(self.dtypes[col], errors="ignore")


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
