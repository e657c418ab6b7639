"""Pipelines used by the engine tests."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from loopml.pipelines import pipeline, step, when


def _log(name: str) -> None:
    folder = os.environ.get("EXEC_LOG")
    if folder:
        with open(Path(folder) / name, "a") as fh:
            fh.write("x\n")


@step
def make_data(n: int = 100, seed: int = 0) -> pd.DataFrame:
    _log("make_data")
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 2, size=n)})


@step
def summarize(df: pd.DataFrame) -> dict:
    _log("summarize")
    return {"n": int(len(df)), "mean_x": float(df["x"].mean()), "auc": 0.9}


@step
def to_array(df: pd.DataFrame) -> np.ndarray:
    _log("to_array")
    return df["x"].to_numpy()


@step
def slow(df: pd.DataFrame) -> dict:
    _log("slow")
    ready = os.environ.get("READY_FILE")
    if ready:
        Path(ready).write_text("ready")
    time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
    return {"rows": int(len(df))}


@step
def finish(summary: dict, arr: np.ndarray, slow_result: dict) -> dict:
    _log("finish")
    return {"n": summary["n"], "sum": float(arr.sum()), "rows": slow_result["rows"]}


@step
def publish(value: float) -> str:
    _log("publish")
    return f"published {value:.3f}"


@pipeline
def five(n_rows: int = 200, threshold: float = 0.5):
    df = make_data(n=n_rows)
    summary = summarize(df)
    arr = to_array(df)
    s = slow(df)
    result = finish(summary, arr, s)
    with when(summary["auc"] > threshold):
        publish(result["sum"])


@step
def boom(df: pd.DataFrame) -> dict:
    raise ValueError("the input had no churners")


@pipeline
def failing():
    boom(make_data(n=10))


@step
def a(n: int = 50) -> pd.DataFrame:
    _log("a")
    return pd.DataFrame({"v": np.arange(n, dtype="int64")})


@step
def b(df: pd.DataFrame) -> pd.DataFrame:
    _log("b")
    return df.assign(w=df["v"] * 2)


@step
def c(df: pd.DataFrame) -> pd.DataFrame:
    _log("c")
    ready = os.environ.get("READY_FILE")
    if ready:
        Path(ready).write_text("ready")
    time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
    return df.assign(x=df["w"] + 1)


@step
def d(df: pd.DataFrame) -> np.ndarray:
    _log("d")
    return df["x"].to_numpy()


@step
def e(arr: np.ndarray) -> dict:
    _log("e")
    return {"total": int(arr.sum())}


@pipeline
def chain(n: int = 50):
    e(d(c(b(a(n=n)))))
