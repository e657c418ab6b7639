"""Resume time of a checkpointing training job after its node is killed (SIGKILL of the raylet).

Starts a head and two worker nodes, runs a script-mode job that checkpoints every 5 steps, kills the
raylet of the node running it after its first sealed checkpoint, and measures the time from the kill to
the job's first new metric on the other node (restart, fresh folder, code and checkpoint from the
artifact store), and how many steps were lost. Prints one JSON line.
Run: .venv/bin/python bench/ray_job_resume.py
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import psutil

from loopml.testing.ray_cluster import LocalRayCluster

SCRIPT = Path(__file__).resolve().parents[1] / "tests" / "train" / "resources" / "checkpointing.py"


def _wait(condition, deadline: float = 300) -> None:  # noqa: ANN001
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the job did not get there in time")
        time.sleep(0.02)


def main() -> None:
    os.environ["LOOPML_HOME"] = tempfile.mkdtemp(prefix="loopml-bench-")
    with LocalRayCluster(workers=2) as cluster:
        os.environ.update(LOOPML_CLUSTER="auto", RAY_ADDRESS=cluster.gcs_address)
        from loopml.core.work import list_work
        from loopml.train import jobs, tracking
        from loopml.train.checkpoints import stored_checkpoints

        out: dict = {}
        thread = threading.Thread(target=lambda: out.update(run=jobs.run(
            str(SCRIPT), environment={"STEP_SECONDS": "0.2"}, stream=False)))
        thread.start()
        _wait(lambda: any(w.kind == "job" for w in list_work(running_only=True)))
        work = next(w for w in list_work(running_only=True) if w.kind == "job")
        _wait(lambda: stored_checkpoints(work.ref))
        raylet = psutil.Process(work.pid).parent()
        node = next(n for n in cluster.nodes if n.raylet_pid() == raylet.pid)
        before = len(tracking.metric_history(work.ref, "global_step"))
        killed = time.monotonic()
        cluster.kill_raylet(node)
        _wait(lambda: len([w for w in list_work() if w.ref == work.ref]) == 2)
        placed = time.monotonic()
        _wait(lambda: len(tracking.metric_history(work.ref, "global_step")) > before)
        resumed = time.monotonic()
        thread.join(600)
        run = out["run"]
        from loopml.core import context

        log = context.get_artifacts().get_bytes(run.logs_digest).decode()
        from_step = int(log.split("resuming from step ")[1].split()[0])
        from loopml.core import cluster as connection

        connection.disconnect()
    print(json.dumps({
        "bench": "ray_job_resume", "status": run.status, "kill_to_new_attempt_s": round(placed - killed, 2),
        "kill_to_first_new_metric_s": round(resumed - killed, 2), "resumed_from_step": from_step,
        "steps_done_before_kill": before, "compute_seconds": round(run.compute_seconds, 2),
        "interrupted_seconds": round(run.interrupted_seconds, 2), "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 1), "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
