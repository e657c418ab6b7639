"""Step overhead on the Ray executor against a bare Ray task round trip, on a real 3-node cluster here.

Starts a head and two worker nodes (one CPU each, loopback only), then measures, through the same driver
connection: a bare Ray task round trip (a trivial remote function, one call after another), and a
20-step chain of trivial steps on ``executor="ray"`` (cache off), whose steps also load their input from
and write their output to the artifact store and are recorded in the metadata DB.
Prints one JSON line. Run: .venv/bin/python bench/ray_step_overhead.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from loopml.pipelines._code import load_ref
from loopml.testing.ray_cluster import LocalRayCluster

# the same 20-step chain as pipeline_overhead.py, loaded by path so that Ray workers import it the same way
CHAIN = load_ref(f"{Path(__file__).with_name('pipeline_overhead.py')}:chain")
STEPS = 20


def _noop() -> int:
    return 1


def main() -> None:
    os.environ["LOOPML_HOME"] = tempfile.mkdtemp(prefix="loopml-bench-")
    with LocalRayCluster(workers=2) as cluster:
        os.environ.update(LOOPML_CLUSTER="auto", RAY_ADDRESS=cluster.gcs_address)
        from loopml.core import cluster as connection
        from loopml.pipelines import run

        ray = connection.connect()
        remote = ray.remote(_noop)
        for _ in range(20):  # start the worker processes
            ray.get(remote.remote())
        bare = []
        for _ in range(100):
            t0 = time.perf_counter()
            ray.get(remote.remote())
            bare.append(time.perf_counter() - t0)
        run(CHAIN, executor="ray", params={"start": -1})  # warm up: imports on the workers, the database
        per_step = []
        for i in range(3):
            t0 = time.perf_counter()
            info = run(CHAIN, executor="ray", cache=False, params={"start": 1000 + i})
            assert info.status == "SUCCEEDED", info.error
            per_step.append((time.perf_counter() - t0) / STEPS)
        connection.disconnect()
    bare_ms, step_ms = statistics.median(bare) * 1000, min(per_step) * 1000
    print(json.dumps({
        "bench": "ray_step_overhead", "steps": STEPS, "bare_ray_task_ms": round(bare_ms, 2),
        "ray_executor_ms_per_step": round(step_ms, 2), "overhead_ms": round(step_ms - bare_ms, 2),
        "goal_overhead_ms": 20, "cluster": "head + 2 workers x 1 CPU, loopback", "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 1), "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
