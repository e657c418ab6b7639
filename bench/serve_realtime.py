"""Real-time serving: loopml (replica alone, and the managed endpoint: router + replica) against
`mlflow models serve` in the same run, driven by Debian's `wrk` (`apt-get install -y wrk`).

Same model (a 20-feature LogisticRegression fitted on the same rows), same one-row JSON payload. For
each server: start to first response; p50/p99 with 1 kept-alive connection and requests/s with 8; the
p50 minus the in-process predict of the same row (the overhead). MLflow runs from its own virtualenv
(`python -m venv bench/.venvs/mlflow && bench/.venvs/mlflow/bin/pip install mlflow scikit-learn`).
The in-process figures split the request path: model alone, then decode + validate + predict + encode.
Prints one JSON line.

    .venv/bin/python bench/serve_realtime.py [--seconds 8] [--skip-mlflow]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _wrk import run as wrk  # noqa: E402
from serve_coldstart import COLUMNS, approved_model, frame  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_PY = ROOT / "bench" / ".venvs" / "mlflow" / "bin" / "python"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_first(url: str, body: bytes, started: float, alive: Any, timeout: float = 180) -> float:
    while time.perf_counter() - started < timeout:
        if not alive():
            raise RuntimeError(f"the server behind {url} exited")
        try:
            if httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _timed(fn: Any, n: int = 2000) -> float:
    for _ in range(100):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(float(np.median(times)) * 1000, 4)


def floors(model: Any, folder: Path, body: bytes) -> dict[str, float]:
    """In-process medians (ms): the bare model, the loaded loopml model, and the whole server path."""
    from loopml.serve import ModelServer
    from loopml.serve._model import load_folder

    row = frame(1, seed=3)
    server = ModelServer(load_folder(folder, name="bench"))
    return {"sklearn_predict_ms": _timed(lambda: model.predict(row)),
            "loopml_loaded_predict_ms": _timed(lambda: _LOADED(folder).predict(row)),
            "server_decode_validate_predict_encode_ms": _timed(
                lambda: server._handle(None, body, "application/json", None, False))}


_CACHE: dict[str, Any] = {}


def _LOADED(folder: Path) -> Any:  # noqa: N802 - a memo
    from loopml import models

    if str(folder) not in _CACHE:
        _CACHE[str(folder)] = models.load(folder)
    return _CACHE[str(folder)]


def load_test(url: str, body: bytes, seconds: float) -> dict[str, Any]:
    load = round(os.getloadavg()[0], 2)
    one, eight = wrk(url, body, connections=1, seconds=seconds), wrk(url, body, connections=8, seconds=seconds)
    return {"load_avg_1m": [load, round(os.getloadavg()[0], 2)], "c1": one, "c8": eight,
            "p50_ms": one["p50_ms"], "p99_ms": one["p99_ms"],
            "requests_per_s_8": eight["requests_per_s"], "failed": one["failed"] + eight["failed"]}


def bench_replica(folder: Path, body: bytes, seconds: float) -> dict[str, Any]:
    port = _free_port()
    spec = folder.parent / "spec.json"
    spec.write_text(json.dumps({"models": [{"name": "model", "folder": str(folder), "digest": "", "version": "1"}],
                                "port": port, "server": {"max_concurrency": 4, "max_queue": 64}}))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "loopml.serve.replica", str(spec)], cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}/invocations"
        first = _wait_first(url, body, started, lambda: proc.poll() is None)
        return {"start_to_first_response_s": round(first, 2), **load_test(url, body, seconds)}
    finally:
        proc.terminate()
        proc.wait(30)


def bench_endpoint(body: bytes, seconds: float) -> dict[str, Any]:
    from loopml import serve

    started = time.perf_counter()
    ep = serve.create("bench-rt", "bench@approved", max_queue=64)
    try:
        url = ep.runtime["url"] + "/invocations"
        first = _wait_first(url, body, started, lambda: True)
        return {"start_to_first_response_s": round(first, 2), **load_test(url, body, seconds)}
    finally:
        serve.delete("bench-rt")


def bench_mlflow(tmp: Path, body: bytes, seconds: float) -> dict[str, Any]:
    data = tmp / "train.csv"
    rows = frame(5000)
    rows.assign(y=(rows.to_numpy().sum(axis=1) > 0).astype(int)).to_csv(data, index=False)
    script = ("import pandas as pd, mlflow.sklearn; from sklearn.linear_model import LogisticRegression; "
              f"d = pd.read_csv({str(data)!r}); "
              f"mlflow.sklearn.save_model(LogisticRegression(max_iter=1000).fit(d.drop(columns='y'), d['y']), "
              f"{str(tmp / 'mlflow-model')!r})")
    subprocess.run([str(MLFLOW_PY), "-c", script], check=True, capture_output=True)
    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": str(tmp / "mlruns"),
           "PATH": f"{MLFLOW_PY.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.perf_counter()
    proc = subprocess.Popen([str(MLFLOW_PY), "-m", "mlflow", "models", "serve", "-m", str(tmp / "mlflow-model"),
                             "-p", str(port), "--env-manager", "local"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/invocations"
        first = _wait_first(url, body, started, lambda: proc.poll() is None)
        return {"start_to_first_response_s": round(first, 2), **load_test(url, body, seconds)}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    from loopml import models

    home, model = approved_model()
    row = frame(1, seed=3)
    body = json.dumps({"dataframe_records": row.to_dict(orient="records")}).encode()
    result: dict[str, Any] = {"bench": "serve_realtime", "model": "LogisticRegression(20 features)",
                              "load_avg_1m_start": round(os.getloadavg()[0], 2), "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models.save(model, tmp / "model", input_example=frame(5))
        result["floor"] = floors(model, tmp / "model", body)
        result["loopml_replica"] = bench_replica(tmp / "model", body, args.seconds)
        result["loopml_endpoint"] = bench_endpoint(body, args.seconds)
        if not args.skip_mlflow and MLFLOW_PY.exists():
            result["mlflow"] = bench_mlflow(tmp, body, args.seconds)
    floor = result["floor"]["sklearn_predict_ms"]
    for name in ("loopml_replica", "loopml_endpoint", "mlflow"):
        if name in result:
            result[name]["p50_overhead_ms"] = round(result[name]["p50_ms"] - floor, 3)
            result[name]["p99_overhead_ms"] = round(result[name]["p99_ms"] - floor, 3)
    if "mlflow" in result:
        for name in ("loopml_replica", "loopml_endpoint"):
            result[f"{name}_rps_ratio_vs_mlflow"] = round(result[name]["requests_per_s_8"] /
                                                          result["mlflow"]["requests_per_s_8"], 2)
    result["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    result["columns"] = len(COLUMNS)
    print(json.dumps(result))
    import shutil

    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
