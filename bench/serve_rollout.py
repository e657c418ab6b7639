"""Rollouts beside CPU hogs: blue/green, canary, linear and a rollback of a live endpoint while `wrk`
keeps 4 connections busy and 3 busy-looping processes per core oversubscribe the machine.

Reports failed requests (non-2xx answers and socket errors; goal 0), p50/p99 over the whole run (which
spans every swap) and how long the four deployments took. Prints one JSON line.

    .venv/bin/python bench/serve_rollout.py [--hogs-per-core 3] [--seconds 90]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _wrk import run as wrk  # noqa: E402
from serve_coldstart import COLUMNS, approved_model, frame  # noqa: E402


def _spin() -> None:
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def _register_versions() -> list[Any]:
    from sklearn.linear_model import LogisticRegression

    from loopml import registry

    data = frame(2000, seed=5)
    versions = []
    for c in (0.5, 2.0):
        model = LogisticRegression(C=c, max_iter=1000).fit(data, (data.to_numpy().sum(axis=1) > 0).astype(int))
        v = registry.register(model, "bench", signature={"inputs": [{"name": n, "type": "float64"} for n in COLUMNS]},
                              actor="alice")
        versions.append(registry.approve("bench", v.version, actor="bob"))
    return versions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hogs-per-core", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=120)
    args = parser.parse_args()
    home, _ = approved_model()
    from loopml import serve

    v2, v3 = _register_versions()
    ep = serve.create("bench-roll", "bench:1", timeout=600)
    body = json.dumps([dict(zip(COLUMNS, frame(1, seed=9).iloc[0].tolist(), strict=True))]).encode()
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.hogs_per_core * os.cpu_count())]
    result: dict[str, Any] = {"bench": "serve_rollout", "hogs": len(hogs), "cores": os.cpu_count(),
                              "load_avg_1m_start": round(os.getloadavg()[0], 2)}
    load: dict[str, Any] = {}
    for hog in hogs:
        hog.start()
    try:
        runner = threading.Thread(target=lambda: load.update(wrk(ep.runtime["url"] + "/invocations", body,
                                                                 connections=4, seconds=args.seconds)))
        runner.start()
        time.sleep(3)
        started, states = time.perf_counter(), []
        for version, strategy in ((v2, "all_at_once"), (v3, "canary"), (v2, "linear")):
            done = serve.update("bench-roll", version.name, strategy=strategy, canary_percent=30, step_percent=50,
                                bake_seconds=2.0, timeout=600)
            states.append(f"{strategy}:{done['state']}")
        states.append(f"rollback:{serve.rollback('bench-roll', timeout=600)['state']}")
        result["deployments_s"] = round(time.perf_counter() - started, 1)
        result["deployments"] = states
        runner.join()
    finally:
        for hog in hogs:
            hog.kill()
        serve.delete("bench-roll")
    result.update({"requests": load.get("requests"), "failed_requests": load.get("failed"),
                   "p50_ms": load.get("p50_ms"), "p99_ms": load.get("p99_ms"),
                   "finished_inside_the_load_window": result["deployments_s"] + 3 < args.seconds,
                   "load_avg_1m_end": round(os.getloadavg()[0], 2)})
    print(json.dumps(result))
    import shutil

    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
