"""The pipelines the executor contract runs (importable by reference on any worker or node).

Steps take their controls as parameters, never from the environment, because a remote worker does not
see the test's environment. ``scratch`` is a folder shared with the test: steps count their executions
in ``scratch/exec_log/<step>`` and signal or wait on files there.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.pipelines import pipeline, step, when


def _log(scratch: str, name: str) -> None:
    if scratch:
        folder = Path(scratch) / "exec_log"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / name, "a") as fh:
            fh.write(f"{os.getpid()}\n")


def _hold(scratch: str, name: str, seconds: float) -> None:
    """Write ``<name>.ready``, then wait for ``release`` (or ``seconds``) when holding."""
    if not scratch:
        return
    Path(scratch, f"{name}.ready").write_text(str(os.getpid()))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not Path(scratch, "release").exists():
        time.sleep(0.02)


@step
def make_data(n: int = 100, scratch: str = "") -> pd.DataFrame:
    _log(scratch, "make_data")
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 2, size=n)})


@step
def summarize(df: pd.DataFrame, scratch: str = "") -> dict[str, Any]:
    _log(scratch, "summarize")
    print(f"summarizing {len(df)} rows")
    return {"n": int(len(df)), "mean_x": float(df["x"].mean()), "auc": 0.9}


@step
def to_array(df: pd.DataFrame) -> np.ndarray:
    arr: np.ndarray = df["x"].to_numpy()
    return arr


@step
def finish(n: int, arr: np.ndarray) -> dict[str, Any]:
    return {"n": n, "sum": float(arr.sum())}


@step
def publish(value: float) -> str:
    return f"published {value:.3f}"


@step
def alert(summary: dict[str, Any]) -> str:
    return f"auc {summary['auc']} below the bar"


@pipeline
def diamond(n_rows: int = 200, threshold: float = 0.5) -> None:
    df = make_data(n=n_rows)
    summary = summarize(df)
    result = finish(summary["n"], to_array(df))
    with when(summary["auc"] > threshold):
        publish(result["sum"])


@pipeline
def branches(threshold: float = 0.5) -> None:
    summary = summarize(make_data(n=20))
    good = summary["auc"] > threshold
    with when(good):
        publish(summary["auc"])
    with when(~good):
        alert(summary)


@step
def a(n: int = 50, scratch: str = "") -> pd.DataFrame:
    _log(scratch, "a")
    return pd.DataFrame({"v": np.arange(n, dtype="int64")})


@step
def b(df: pd.DataFrame, scratch: str = "") -> pd.DataFrame:
    _log(scratch, "b")
    return df.assign(w=df["v"] * 2)


@step
def c(df: pd.DataFrame, scratch: str = "", hold: float = 0.0) -> pd.DataFrame:
    _log(scratch, "c")
    _hold(scratch, "c", hold)
    return df.assign(x=df["w"] + 1)


@step
def d(df: pd.DataFrame, scratch: str = "") -> np.ndarray:
    _log(scratch, "d")
    arr: np.ndarray = df["x"].to_numpy()
    return arr


@step
def e(arr: np.ndarray, scratch: str = "") -> dict[str, Any]:
    _log(scratch, "e")
    return {"total": int(arr.sum())}


@pipeline
def chain(n: int = 50, scratch: str = "", hold: float = 0.0) -> None:
    e(d(c(b(a(n=n, scratch=scratch), scratch=scratch), scratch=scratch, hold=hold), scratch=scratch), scratch=scratch)


@step(retries=2, retry_backoff=0.01)
def flaky(scratch: str) -> int:
    counter = Path(scratch) / "attempts"
    count = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(count + 1))
    if count < 2:
        raise RuntimeError(f"transient failure {count}")
    return count


@pipeline
def retrying(scratch: str = "") -> None:
    flaky(scratch)


@step(timeout=0.5)
def sleeper(scratch: str = "") -> int:
    _log(scratch, "sleeper")
    time.sleep(30)
    _log(scratch, "sleeper-woke")
    return 1


@pipeline
def timing_out(scratch: str = "") -> None:
    sleeper(scratch)


@step
def boom(df: pd.DataFrame) -> dict[str, Any]:
    raise ValueError("the input had no churners")


@pipeline
def failing() -> None:
    df = make_data(n=10)
    finish(summarize(df)["n"], to_array(boom(df)))


@step
def die() -> int:
    os.kill(os.getpid(), 9)
    return 0


@pipeline
def crashing() -> None:
    die()
    summarize(make_data(n=5))


class Opaque:
    """A type no serializer knows."""


@step
def opaque() -> Opaque:
    return Opaque()


@pipeline
def unstorable() -> None:
    opaque()


@step
def overlap(name: str, scratch: str) -> list[float]:
    started = time.time()
    Path(scratch, f"{name}.started").write_text("1")
    deadline = time.monotonic() + 20
    other = "right" if name == "left" else "left"
    while time.monotonic() < deadline and not Path(scratch, f"{other}.started").exists():
        time.sleep(0.02)
    return [started, time.time()]


@pipeline
def two_branches(scratch: str = "") -> None:
    overlap("left", scratch)
    overlap("right", scratch)
