"""Real-time serving: in-process floor, loopml replica over HTTP, and `mlflow models serve` side by side.

A 20-feature logistic regression. Single-row latency p50/p99 with one keep-alive client, throughput
with 8 concurrent keep-alive clients, and start-to-first-response, for loopml and for MLflow (run from
its own virtualenv, bench/.venvs/mlflow). Prints one JSON line.

    .venv/bin/python bench/serve_realtime.py [--requests 2000] [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_PY = ROOT / "bench" / ".venvs" / "mlflow" / "bin" / "python"
COLUMNS = [f"f{i}" for i in range(20)]


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(5000, 20)), columns=COLUMNS)
    return frame, (frame.to_numpy() @ rng.normal(size=20) > 0).astype(int)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_first(url: str, body: bytes, proc: subprocess.Popen, started: float, timeout: float = 120) -> float:
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise RuntimeError("server did not answer")


def _latency(url: str, body: bytes, n: int) -> dict[str, float]:
    times = []
    with httpx.Client(headers={"content-type": "application/json"}) as client:
        for i in range(n + 100):
            t0 = time.perf_counter()
            r = client.post(url, content=body)
            if i >= 100:
                times.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    ms = np.array(times) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def _throughput(url: str, body: bytes, seconds: float, clients: int = 8) -> float:
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        with httpx.Client(headers={"content-type": "application/json"}) as client:
            while time.perf_counter() < stop:
                if client.post(url, content=body).status_code == 200:
                    counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return round(sum(counts) / seconds, 1)


def _floor(model, loaded, row: pd.DataFrame, n: int = 3000) -> dict[str, float]:  # noqa: ANN001
    out = {}
    for name, fn in (("sklearn_predict_ms", model.predict), ("loopml_loaded_predict_ms", loaded.predict)):
        for _ in range(200):
            fn(row)
        t = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn(row)
            t.append(time.perf_counter() - t0)
        out[name] = round(float(np.median(t)) * 1000, 4)
    return out


def _measure(url: str, body: bytes, proc: subprocess.Popen, started: float, args: argparse.Namespace) -> dict:
    first = _wait_first(url, body, proc, started)
    return {"start_to_first_response_s": round(first, 2), **_latency(url, body, args.requests),
            "throughput_rps_8_clients": _throughput(url, body, args.seconds)}


def bench_loopml(folder: Path, body: bytes, args: argparse.Namespace) -> dict:
    port = _free_port()
    spec = {"models": [{"name": "model", "folder": str(folder), "digest": "", "version": "1"}], "port": port,
            "server": {"max_concurrency": 4, "max_queue": 64}}
    spec_path = folder.parent / "spec.json"
    spec_path.write_text(json.dumps(spec))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "loopml.serve.replica", str(spec_path)], cwd=ROOT)
    try:
        return _measure(f"http://127.0.0.1:{port}/invocations", body, proc, started, args)
    finally:
        proc.terminate()
        proc.wait(30)


def bench_mlflow(frame: pd.DataFrame, target: np.ndarray, tmp: Path, body: bytes, args: argparse.Namespace) -> dict:
    data = tmp / "train.csv"
    frame.assign(y=target).to_csv(data, index=False)
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
        return _measure(f"http://127.0.0.1:{port}/invocations", body, proc, started, args)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    from loopml import models

    frame, target = _data()
    model = LogisticRegression(max_iter=1000).fit(frame, target)
    row = frame.iloc[:1]
    body = json.dumps({"dataframe_records": row.to_dict(orient="records")}).encode()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models.save(model, tmp / "model", input_example=frame.head())
        result = {"bench": "serve_realtime", "model": "LogisticRegression(20 features)", "load_avg_1m":
                  round(os.getloadavg()[0], 2), "cores": os.cpu_count()}
        result["floor"] = _floor(model, models.load(tmp / "model"), row)
        result["loopml"] = bench_loopml(tmp / "model", body, args)
        if not args.skip_mlflow and MLFLOW_PY.exists():
            result["mlflow"] = bench_mlflow(frame, target, tmp, body, args)
            result["throughput_ratio_vs_mlflow"] = round(result["loopml"]["throughput_rps_8_clients"] /
                                                         result["mlflow"]["throughput_rps_8_clients"], 2)
            result["p50_ratio_mlflow_over_loopml"] = round(result["mlflow"]["p50_ms"] / result["loopml"]["p50_ms"], 2)
        # The replica validates once, then calls the estimator: its floor is the bare predict call.
        result["p50_overhead_over_floor_ms"] = round(result["loopml"]["p50_ms"] -
                                                     result["floor"]["sklearn_predict_ms"], 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
