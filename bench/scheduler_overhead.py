"""Scheduler overhead for 100 schedules: one tick that runs 100 due monitoring slots (empty capture windows,
so the figure is the scheduler's claim/run/record cost, not a drift computation), then idle ticks with
nothing due. Prints one JSON line.

    .venv/bin/python bench/scheduler_overhead.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import timedelta

SCHEDULES = 100


def main() -> None:
    home = tempfile.mkdtemp(prefix="loopml-bench-sched-")
    os.environ["LOOPML_HOME"] = home
    os.environ["LOOPML_USER"] = "bench"
    import numpy as np
    import pandas as pd

    from loopml import monitor
    from loopml.core import clock
    from loopml.monitor import scheduler

    rng = np.random.default_rng(0)
    base = pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(["a", "b"], 1000)})
    b = monitor.create_baseline(base)
    started = time.perf_counter()
    for i in range(SCHEDULES):
        monitor.create_monitoring_schedule(f"s{i:03d}", f"ep{i % 10}", statistics=b.statistics_digest,
                                           constraints=b.constraints_digest, interval_seconds=3600,
                                           check_signature=False)
    create_s = time.perf_counter() - started
    now = clock.now() + timedelta(seconds=1)
    started = time.perf_counter()
    due = scheduler.tick(now=now, owner="bench")
    due_s = time.perf_counter() - started
    idle = []
    for k in range(5):
        started = time.perf_counter()
        again = scheduler.tick(now=now + timedelta(seconds=k + 1), owner="bench")
        idle.append(time.perf_counter() - started)
        assert again.ran == []
    print(json.dumps({
        "benchmark": "scheduler_overhead", "schedules": SCHEDULES, "slots_run": len(due.ran),
        "create_100_schedules_s": round(create_s, 3), "due_tick_s": round(due_s, 3),
        "per_slot_ms": round(1000 * due_s / max(1, len(due.ran)), 2),
        "idle_tick_ms": round(1000 * float(np.median(idle)), 1), "double_runs": 0,
        "backend": "sqlite", "cores": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
