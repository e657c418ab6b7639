"""Benchmark the loopml model format: save/load time and size per flavor vs a bare joblib pickle, the cost
of hash verification on a large model, and the per-call cost of signature validation.

Run: .venv/bin/python bench/models_format.py   (prints one JSON line)
"""

from __future__ import annotations

import json
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from loopml import models
from loopml.models.manifest import read_verified

warnings.filterwarnings("ignore")


def _best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _data(n: int = 20_000) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(10)})
    frame["city"] = rng.choice(["oslo", "rome", "lima", "kyiv"], n)
    label = ((frame["f0"] + frame["f1"] > 0) ^ (frame["city"] == "rome")).astype(int)
    return frame, label


def _models(frame: pd.DataFrame, label: pd.Series) -> dict[str, tuple[object, pd.DataFrame]]:
    import lightgbm
    import xgboost
    from skl2onnx import to_onnx
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = frame.drop(columns=["city"])
    pipe = Pipeline([("ct", ColumnTransformer([("n", StandardScaler(), list(num.columns)),
                                               ("c", OneHotEncoder(handle_unknown="ignore"), ["city"])])),
                     ("lr", LogisticRegression(max_iter=500))]).fit(frame, label)
    forest = RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=0).fit(num, label)
    xgb = xgboost.XGBClassifier(n_estimators=200, max_depth=6, n_jobs=1).fit(num, label)
    lgb = lightgbm.LGBMClassifier(n_estimators=200, verbose=-1, n_jobs=1).fit(num, label)
    lr = LogisticRegression(max_iter=500).fit(num, label)
    onx = to_onnx(lr, num.to_numpy(np.float32)[:1], options={id(lr): {"zipmap": False}})
    return {"sklearn_pipeline": (pipe, frame), "sklearn_forest": (forest, num), "xgboost": (xgb, num),
            "lightgbm": (lgb, num), "onnx": (onx, num)}


def _flavor_row(name: str, model: object, example: pd.DataFrame, root: Path) -> dict[str, float]:
    counter = iter(range(10_000))
    save_s = _best(lambda: models.save(model, root / f"{name}-{next(counter)}", input_example=example))
    folder = root / f"{name}-0"
    load_s = _best(lambda: models.load(folder))
    verify_s = _best(lambda: read_verified(folder))
    size = sum(p.stat().st_size for p in folder.iterdir())
    row = {"save_ms": save_s * 1e3, "load_ms": load_s * 1e3, "verify_ms": verify_s * 1e3, "bytes": size}
    if name != "onnx":
        joblib_path = root / f"{name}.joblib"
        row["joblib_save_ms"] = _best(lambda: joblib.dump(model, joblib_path)) * 1e3
        row["joblib_load_ms"] = _best(lambda: joblib.load(joblib_path)) * 1e3
        row["joblib_bytes"] = joblib_path.stat().st_size
    loaded, batch = models.load(folder), example.head(1000)
    raw = loaded.model.predict
    row["predict_1k_ms"] = _best(lambda: loaded.predict(batch), 10) * 1e3
    row["predict_1k_unvalidated_ms"] = _best(lambda: raw(batch), 10) * 1e3
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}


def main() -> None:
    frame, label = _data()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {name: _flavor_row(name, model, example, Path(tmp))
                for name, (model, example) in _models(frame, label).items()}
    print(json.dumps({"bench": "models_format", "rows_train": len(frame), "flavors": rows}))


if __name__ == "__main__":
    main()
