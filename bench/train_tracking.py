"""Metric logging and run tracking: loopml vs MLflow's tracking API on a SQLite store.

Both sides: 10,000 metric values one call at a time, the same 10,000 in batches of 1,000, then 1,000 runs
with 5 params and 5 metrics each, then a search by metric. MLflow runs in its own virtual environment
(``bench/.venvs/mlflow``, created with ``python -m venv bench/.venvs/mlflow && bench/.venvs/mlflow/bin/pip
install mlflow-skinny``). Prints one JSON line.

    .venv/bin/python bench/train_tracking.py [--values 10000] [--runs 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MLFLOW_PY = Path(__file__).parent / ".venvs" / "mlflow" / "bin" / "python"


def _rate(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def bench_loopml(values: int, runs: int) -> dict[str, float]:
    os.environ["LOOPML_HOME"] = tempfile.mkdtemp(prefix="bench-train-")
    from loopml.train import sdk, tracking

    run = tracking.create_run("bench")
    out = {"single_sync_per_s": _rate(values, lambda: [tracking.log_metric(run.id, "m", i, step=i)
                                                        for i in range(values)])}
    os.environ["LOOPML_RUN_ID"] = run.id

    def sdk_single() -> None:
        for i in range(values):
            sdk.log_metric("s", i, step=i)
        sdk.flush()

    out["single_sdk_per_s"] = _rate(values, sdk_single)
    out["batched_per_s"] = _rate(values, lambda: [tracking.log_metrics(
        run.id, [("b", float(i), i) for i in range(j, j + 1000)]) for j in range(0, values, 1000)])

    def make_runs() -> None:
        for i in range(runs):
            r = tracking.create_run("runs", params={f"p{k}": i % (k + 2) for k in range(5)})
            tracking.log_metrics(r.id, {f"m{k}": (i * (k + 1)) % 100 / 100 for k in range(5)})

    out["runs_per_s"] = _rate(runs, make_runs)
    start = time.perf_counter()
    found = tracking.search_runs("metrics.m0 > 0.5 and params.p1 = 1", experiment="runs", limit=100000)
    out["search_s"], out["search_hits"] = time.perf_counter() - start, len(found)
    return out


def bench_mlflow(values: int, runs: int) -> dict[str, float]:
    import mlflow
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    folder = tempfile.mkdtemp(prefix="bench-mlflow-")
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    client = MlflowClient()
    exp = client.create_experiment("bench", artifact_location=f"{folder}/artifacts")
    run_id = client.create_run(exp).info.run_id
    out = {"single_sync_per_s": _rate(values, lambda: [client.log_metric(run_id, "m", i, step=i)
                                                        for i in range(values)])}
    now = int(time.time() * 1000)
    out["batched_per_s"] = _rate(values, lambda: [client.log_batch(
        run_id, metrics=[Metric("b", float(i), now, i) for i in range(j, j + 1000)]) for j in range(0, values, 1000)])
    exp2 = client.create_experiment("runs", artifact_location=f"{folder}/artifacts2")

    def make_runs() -> None:
        for i in range(runs):
            rid = client.create_run(exp2).info.run_id
            client.log_batch(rid, params=[Param(f"p{k}", str(i % (k + 2))) for k in range(5)],
                             metrics=[Metric(f"m{k}", (i * (k + 1)) % 100 / 100, now, 0) for k in range(5)])

    out["runs_per_s"] = _rate(runs, make_runs)
    start = time.perf_counter()
    found = client.search_runs([exp2], "metrics.m0 > 0.5 and params.p1 = '1'", max_results=50000)
    out["search_s"], out["search_hits"] = time.perf_counter() - start, len(found)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--mlflow", action="store_true", help="(internal) run the MLflow side")
    args = parser.parse_args()
    if args.mlflow:
        print(json.dumps(bench_mlflow(args.values, args.runs)))
        return
    ours = bench_loopml(args.values, args.runs)
    theirs = None
    if MLFLOW_PY.exists():
        proc = subprocess.run([str(MLFLOW_PY), __file__, "--mlflow", "--values", str(args.values), "--runs",
                               str(args.runs)], capture_output=True, text=True, check=True)
        theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    result: dict[str, object] = {"bench": "train_tracking", "values": args.values, "runs": args.runs,
                                 "loopml": _round(ours), "mlflow": _round(theirs) if theirs else None}
    if theirs:
        result["ratios"] = {
            "single_sync": ours["single_sync_per_s"] / theirs["single_sync_per_s"],
            "single_sdk_vs_mlflow_single": ours["single_sdk_per_s"] / theirs["single_sync_per_s"],
            "batched": ours["batched_per_s"] / theirs["batched_per_s"],
            "runs": ours["runs_per_s"] / theirs["runs_per_s"],
            "search": theirs["search_s"] / ours["search_s"],
        }
        result["ratios"] = _round(result["ratios"])  # type: ignore[arg-type]
    print(json.dumps(result))


def _round(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}


if __name__ == "__main__":
    sys.exit(main())
