"""Training code of the built-in algorithms, with checkpoints every N rounds or epochs.

Boosted trees train in chunks of ``checkpoint_every`` rounds and continue from the serialized booster
(``xgb_model=`` / ``init_model=``) whether or not the job was interrupted, so a resumed job and an
uninterrupted one run exactly the same sequence of calls and reach the same model bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from loopml.core import faults
from loopml.errors import ValidationError
from loopml.train._signals import JobInterrupted
from loopml.train.checkpoints import CheckpointStore

Log = Callable[[str, float, int], None]


def split_xy(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series | None]:
    """Features (numeric and boolean columns) and the label (None without a target)."""
    if target and target not in frame.columns:
        raise ValidationError(f"target column {target!r} is not in the data; columns: {', '.join(frame.columns)}")
    features = frame.drop(columns=[target]) if target else frame
    usable = features.select_dtypes(include=["number", "bool"])
    dropped = sorted(set(features.columns) - set(usable.columns))
    if dropped:
        print(f"[loopml] ignoring non-numeric columns {dropped}; encode them first to use them", flush=True)
    if usable.shape[1] == 0:
        raise ValidationError("no numeric feature columns to train on; encode categorical columns first")
    return usable.astype("float64"), (frame[target] if target else None)


def infer_task(hps: dict[str, Any], y: pd.Series | None) -> str:
    if y is None:
        return "clustering"
    if hps["task"] != "auto":
        return str(hps["task"])
    integral = pd.api.types.is_integer_dtype(y) or pd.api.types.is_bool_dtype(y) or y.dtype == object
    return "classification" if integral and y.nunique() <= 20 else "regression"


def _chunks(start: int, total: int, every: int) -> list[tuple[int, int]]:
    every = every if every > 0 else total
    edges = list(range(0, total, every)) + [total]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > start]


def _boost_in_chunks(rounds: Callable[[bytes | None, int, dict[str, Any]], bytes], hps: dict[str, Any],
                     ckpt: CheckpointStore, log: Log) -> bytes:
    """Boost ``num_round`` rounds in chunks of ``checkpoint_every``, from the newest checkpoint; each chunk
    restarts from the serialized model (so a resumed run takes the identical path) and is checkpointed."""
    done, raw = _resume(ckpt)
    try:
        for a, b in _chunks(done, hps["num_round"], hps["checkpoint_every"]):
            history: dict[str, Any] = {}
            raw = rounds(raw, b - a, history)
            done = b
            _log_history(history, a, log)
            if b < hps["num_round"] and hps["checkpoint_every"] > 0:
                ckpt.save(b, raw)
            faults.point("train_epoch")
    except JobInterrupted:
        if raw is not None:
            final = raw
            _save_on_interrupt(ckpt, done, lambda: final)
        raise
    if raw is None:
        raise ValidationError(f"num_round={hps['num_round']} trains no rounds; pass num_round >= 1")
    return raw


# -- XGBoost ---------------------------------------------------------------------------------------
def fit_xgboost(hps: dict[str, Any], data: dict[str, Any], ckpt: CheckpointStore, log: Log) -> Any:
    import xgboost as xgb

    task, X, y, valid = data["task"], data["X"], data["y"], data.get("valid")
    classes = np.unique(y) if task == "classification" else None
    params = {"max_depth": hps["max_depth"], "eta": hps["eta"], "subsample": hps["subsample"],
              "colsample_bytree": hps["colsample_bytree"], "min_child_weight": hps["min_child_weight"],
              "lambda": hps["lambda"], "alpha": hps["alpha"], "seed": hps["seed"], "tree_method": "hist",
              "nthread": 1}
    params.update(_xgb_objective(task, classes))
    label = np.searchsorted(classes, y) if classes is not None else y
    dtrain = xgb.DMatrix(X, label=label)
    evals = [(dtrain, "train")]
    if valid is not None:
        vy = np.searchsorted(classes, valid[1]) if classes is not None else valid[1]
        evals.append((xgb.DMatrix(valid[0], label=vy), "validation"))
    def rounds(raw: bytes | None, n: int, history: dict[str, Any]) -> bytes:
        booster = xgb.Booster(model_file=bytearray(raw)) if raw else None  # same path with or without a resume
        booster = xgb.train(params, dtrain, num_boost_round=n, xgb_model=booster, evals=evals,
                            evals_result=history, verbose_eval=False)
        return bytes(booster.save_raw(raw_format="ubj"))

    return _xgb_model(_boost_in_chunks(rounds, hps, ckpt, log), task)


def _xgb_objective(task: str, classes: Any) -> dict[str, Any]:
    if task == "regression":
        return {"objective": "reg:squarederror", "eval_metric": "rmse"}
    if len(classes) <= 2:
        return {"objective": "binary:logistic", "eval_metric": ["logloss", "auc"]}
    return {"objective": "multi:softprob", "num_class": len(classes), "eval_metric": "mlogloss"}


def _xgb_model(raw: bytes, task: str) -> Any:
    import xgboost as xgb

    model = xgb.XGBClassifier() if task == "classification" else xgb.XGBRegressor()
    model.load_model(bytearray(raw))
    return model


def _log_history(history: dict[str, Any], offset: int, log: Log) -> None:
    for split, values in history.items():
        for metric, series in values.items():
            for i, value in enumerate(series):
                log(f"{split}:{metric}", float(value), offset + i + 1)


def _save_on_interrupt(ckpt: CheckpointStore, step: int, payload: Callable[[], bytes]) -> None:
    latest = ckpt.latest()
    if step > 0 and (latest is None or latest.step < step):
        ckpt.save(step, payload())
        print(f"[loopml] interrupted: checkpoint saved at step {step}", flush=True)


def _resume(ckpt: CheckpointStore) -> tuple[int, bytes | None]:
    found = ckpt.latest()
    if found is None:
        return 0, None
    print(f"[loopml] resuming from checkpoint at step {found.step} ({found.sha256})", flush=True)
    return found.step, found.data


# -- LightGBM --------------------------------------------------------------------------------------
def fit_lightgbm(hps: dict[str, Any], data: dict[str, Any], ckpt: CheckpointStore, log: Log) -> Any:
    import lightgbm as lgb

    task, X, y = data["task"], data["X"], data["y"]
    classes = np.unique(y) if task == "classification" else None
    label = np.searchsorted(classes, y) if classes is not None else y
    params = {"num_leaves": hps["num_leaves"], "learning_rate": hps["learning_rate"], "max_depth": hps["max_depth"],
              "min_data_in_leaf": hps["min_data_in_leaf"], "feature_fraction": hps["feature_fraction"],
              "lambda_l2": hps["lambda_l2"], "seed": hps["seed"], "deterministic": True, "num_threads": 1,
              "verbose": -1, "force_row_wise": True}
    params.update(_lgb_objective(task, classes))
    def rounds(raw: bytes | None, n: int, history: dict[str, Any]) -> bytes:
        booster = lgb.Booster(model_str=raw.decode()) if raw else None
        dtrain = lgb.Dataset(X, label=label, free_raw_data=False)
        booster = lgb.train(params, dtrain, num_boost_round=n, init_model=booster, valid_sets=[dtrain],
                            valid_names=["train"], callbacks=[lgb.record_evaluation(history)])
        return booster.model_to_string().encode()

    raw = _boost_in_chunks(rounds, hps, ckpt, log)
    return _lgb_model(lgb.Booster(model_str=raw.decode()), task, classes, X)


def _lgb_objective(task: str, classes: Any) -> dict[str, Any]:
    if task == "regression":
        return {"objective": "regression", "metric": "rmse"}
    if len(classes) <= 2:
        return {"objective": "binary", "metric": ["binary_logloss", "auc"]}
    return {"objective": "multiclass", "num_class": len(classes), "metric": "multi_logloss"}


def _lgb_model(booster: Any, task: str, classes: Any, X: pd.DataFrame) -> Any:
    return booster  # saved in LightGBM's text format; classes are recorded in the run outputs


# -- NumPy linear learner (bitwise-identical resume) ---------------------------------------------------
def fit_linear_learner(hps: dict[str, Any], data: dict[str, Any], ckpt: CheckpointStore, log: Log) -> Any:
    from loopml.train import _linear

    task, X, y = data["task"], data["X"], data["y"]
    classes = np.unique(y) if task == "classification" else None
    if classes is not None and len(classes) != 2:
        raise ValidationError(f"linear-learner classifies two classes; the label has {len(classes)}: use xgboost")
    target = (np.searchsorted(classes, y) if classes is not None else np.asarray(y)).astype("float64")
    found = ckpt.latest()
    state = _linear.State.from_bytes(found.data) if found else _linear.State.new(X.shape[1], hps["seed"])
    if found:
        print(f"[loopml] resuming from checkpoint at step {found.step} ({found.sha256})", flush=True)
    Xv = X.to_numpy()
    try:
        while state.epoch < hps["epochs"]:
            state = _linear.epoch(state, Xv, target, hps, logistic=classes is not None)
            log("train:loss", state.loss, state.epoch)
            log("global_step", float(state.epoch), state.epoch)
            every = hps["checkpoint_every"]
            if every > 0 and state.epoch % every == 0 and state.epoch < hps["epochs"]:
                ckpt.save(state.epoch, state.to_bytes())
            faults.point("train_epoch")
    except JobInterrupted:
        _save_on_interrupt(ckpt, state.epoch, state.to_bytes)
        raise
    return _linear.to_sklearn(state, classes, list(X.columns))


# -- scikit-learn ----------------------------------------------------------------------------------
def fit_sklearn(name: str, hps: dict[str, Any], data: dict[str, Any]) -> Any:
    from sklearn import cluster, ensemble, linear_model

    task, seed = data["task"], hps["seed"]
    depth = hps.get("max_depth") or None
    makers: dict[str, Callable[[], Any]] = {
        "logistic_regression": lambda: linear_model.LogisticRegression(C=hps["C"], max_iter=hps["max_iter"]),
        "linear_regression": lambda: (linear_model.Ridge(alpha=hps["alpha"]) if hps["alpha"]
                                      else linear_model.LinearRegression()),
        "random_forest": lambda: (ensemble.RandomForestClassifier if task == "classification"
                                  else ensemble.RandomForestRegressor)(
            n_estimators=hps["n_estimators"], max_depth=depth, min_samples_leaf=hps["min_samples_leaf"],
            max_features=_max_features(hps["max_features"]), random_state=seed, n_jobs=1),
        "hist_gradient_boosting": lambda: (ensemble.HistGradientBoostingClassifier if task == "classification"
                                           else ensemble.HistGradientBoostingRegressor)(
            max_iter=hps["max_iter"], learning_rate=hps["learning_rate"], max_leaf_nodes=hps["max_leaf_nodes"],
            max_depth=depth, l2_regularization=hps["l2_regularization"], random_state=seed),
        "kmeans": lambda: cluster.KMeans(n_clusters=hps["k"], max_iter=hps["max_iter"], n_init=hps["n_init"],
                                         random_state=seed),
    }
    model = makers[name]()
    return model.fit(data["X"]) if data["y"] is None else model.fit(data["X"], data["y"])


def _max_features(value: str) -> Any:
    if value in ("sqrt", "log2"):
        return value
    try:
        return float(value)
    except ValueError as exc:
        raise ValidationError(f"max_features={value!r}: use sqrt, log2 or a fraction such as 0.5") from exc
