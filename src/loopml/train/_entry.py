"""The job process of a built-in algorithm: ``python -m loopml.train._entry`` (SageMaker-style env)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.train import _builtin, _modelio, _signals, sdk
from loopml.train.algorithms import validate_hyperparameters
from loopml.train.checkpoints import CheckpointStore


def read_channel(folder: str | Path) -> pd.DataFrame:
    """Every Parquet/CSV file of a channel folder, concatenated in name order."""
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix in (".parquet", ".csv"))
    if not files:
        raise FileNotFoundError(f"channel folder {folder} holds no .parquet or .csv file")
    frames = [pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p) for p in files]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _fit(name: str, hps: dict[str, Any], data: dict[str, Any], ckpt: CheckpointStore) -> Any:
    log = sdk.log_metric
    if name == "xgboost":
        return _builtin.fit_xgboost(hps, data, ckpt, log)
    if name == "lightgbm":
        return _builtin.fit_lightgbm(hps, data, ckpt, log)
    if name == "linear-learner":
        return _builtin.fit_linear_learner(hps, data, ckpt, log)
    return _builtin.fit_sklearn(name, hps, data)


def _final_metrics(model: Any, data: dict[str, Any]) -> dict[str, float]:
    from sklearn import metrics

    split, (X, y) = ("validation", data["valid"]) if data.get("valid") else ("train", (data["X"], data["y"]))
    if data["task"] == "clustering":
        return {"train:inertia": float(getattr(model, "inertia_", np.nan))}
    if data["task"] == "regression":
        pred = np.asarray(model.predict(X))
        return {f"{split}:rmse": float(np.sqrt(metrics.mean_squared_error(y, pred))),
                f"{split}:r2": float(metrics.r2_score(y, pred))}
    return _classification_metrics(model, X, y, split, data["classes"])


def _classification_metrics(model: Any, X: Any, y: Any, split: str, classes: Any) -> dict[str, float]:
    from sklearn import metrics

    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X))
    else:  # a LightGBM booster
        raw = np.asarray(model.predict(X))
        proba = np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    out = {f"{split}:accuracy": float(metrics.accuracy_score(y, pred))}
    if proba.shape[1] == 2 and len(np.unique(y)) == 2:
        out[f"{split}:auc"] = float(metrics.roc_auc_score(np.searchsorted(classes, y), proba[:, 1]))
    return out


def main() -> int:
    name = os.environ["LOOPML_ALGORITHM"]
    hps = validate_hyperparameters(name, json.loads(os.environ.get("SM_HPS", "{}")))
    _signals.install()
    ckpt = CheckpointStore(os.environ["LOOPML_CHECKPOINT_DIR"], os.environ.get("LOOPML_RUN_ID"))
    ckpt.clean()
    data = _load(hps)
    try:
        model = _fit(name, hps, data, ckpt)
    except _signals.JobInterrupted:
        sdk.flush()
        print("[loopml] stopped on request after saving a checkpoint", flush=True)
        return _signals.INTERRUPTED_EXIT
    sdk.log_metrics(_final_metrics(model, data))
    _modelio.save_model(model, Path(os.environ["SM_MODEL_DIR"]), input_example=data["X"].head(5))
    sdk.flush()
    return 0


def _load(hps: dict[str, Any]) -> dict[str, Any]:
    train = read_channel(os.environ["SM_CHANNEL_TRAIN"])
    X, y = _builtin.split_xy(train, hps["target"])
    task = _builtin.infer_task(hps, y)
    data: dict[str, Any] = {"X": X, "y": y, "task": task,
                            "classes": np.unique(y) if task == "classification" and y is not None else None}
    if os.environ.get("SM_CHANNEL_VALIDATION"):
        vx, vy = _builtin.split_xy(read_channel(os.environ["SM_CHANNEL_VALIDATION"]), hps["target"])
        data["valid"] = (vx[X.columns], vy)
    return data


if __name__ == "__main__":
    sys.exit(main())
