"""A 20-trial tuning study on a cluster with one worker node, then with two (one CPU each).

Each trial is a script-mode job that burns about a second of CPU and logs its objective; the study lives
in the metadata DB and trials run as Ray tasks, as many at once as the cluster's CPUs hold. Prints one
JSON line with both wall times and the speed-up. This machine has 2 cores shared with other work, so two
one-CPU nodes are the most it can show; the load average at the end is reported with the figures.
Run: .venv/bin/python bench/ray_tuning_scale.py
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import textwrap
import time
from pathlib import Path

from loopml.testing.ray_cluster import LocalRayCluster

TRIALS = 20
SCRIPT = """
    import argparse, time
    from loopml.train import sdk
    p = argparse.ArgumentParser(); p.add_argument("--x", type=float)
    a, _ = p.parse_known_args()
    t0, n = time.process_time(), 0
    while time.process_time() - t0 < 1.0:
        n += 1
    sdk.log_metric("score", -(a.x - 2.0) ** 2)
    sdk.flush()
"""


def _study(workers: int, script: Path) -> float:
    os.environ["LOOPML_HOME"] = tempfile.mkdtemp(prefix="loopml-bench-")
    with LocalRayCluster(workers=workers) as cluster:
        os.environ.update(LOOPML_CLUSTER="auto", RAY_ADDRESS=cluster.gcs_address)
        from loopml.config import reset_settings
        from loopml.core import cluster as connection
        from loopml.train.tuning import Float, tune

        reset_settings()
        t0 = time.perf_counter()
        result = tune({"x": Float(0.0, 4.0)}, objective="score", script=str(script), max_trials=TRIALS,
                      max_parallel=TRIALS, sampler="random", pruner=None, seed=1)
        seconds = time.perf_counter() - t0
        assert len(result.trials) == TRIALS
        connection.disconnect()
    return seconds


def main() -> None:
    script = Path(tempfile.mkdtemp(prefix="loopml-bench-")) / "trial.py"
    script.write_text(textwrap.dedent(SCRIPT))
    one = _study(1, script)
    two = _study(2, script)
    print(json.dumps({
        "bench": "ray_tuning_scale", "trials": TRIALS, "one_worker_node_s": round(one, 1),
        "two_worker_nodes_s": round(two, 1), "speedup": round(one / two, 2), "goal_speedup": 1.6,
        "cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 1), "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
