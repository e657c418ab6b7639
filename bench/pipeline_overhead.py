"""Per-step overhead of a 20-step chain of trivial steps, and a fully cached re-run.

Prints one JSON line: ms per step for LocalExecutor and InlineExecutor (first run, cache off), the floor
(calling the 20 functions directly), and the wall time of a fully cached re-run.
Run: .venv/bin/python bench/pipeline_overhead.py
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time

from loopml.pipelines import pipeline, step

STEPS = 20


@step
def inc(x: int) -> int:
    return x + 1


@pipeline
def chain(start: int = 0):
    value = inc(start)
    for _ in range(STEPS - 1):
        value = inc(value)


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def main() -> None:
    os.environ["LOOPML_HOME"] = tempfile.mkdtemp(prefix="loopml-bench-")
    from loopml.pipelines import run

    _, floor = _timed(lambda: [inc.spec.fn(i) for i in range(STEPS)])
    run(chain, executor="inline", params={"start": -1})  # warm up imports and the database
    results = {}
    for name in ("inline", "local"):
        info, seconds = _timed(run, chain, executor=name, cache=False, params={"start": 1000})
        assert info.status == "SUCCEEDED", info.error
        results[name] = seconds
    cached, cached_s = _timed(run, chain, executor="local", params={"start": 1000})
    assert all(s.cache_hit for s in cached.steps)
    print(json.dumps({
        "bench": "pipeline_overhead", "steps": STEPS,
        "inline_ms_per_step": round(results["inline"] * 1000 / STEPS, 2),
        "local_ms_per_step": round(results["local"] * 1000 / STEPS, 2),
        "floor_ms_per_step": round(floor * 1000 / STEPS, 4),
        "cached_rerun_s": round(cached_s, 3),
        "machine": f"{platform.machine()} {os.cpu_count()} cores", "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
