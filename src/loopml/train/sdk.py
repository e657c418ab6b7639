"""The in-job SDK: ``log_metric`` / ``log_metrics`` / ``log_param`` from a training script.

Inside a training job (``LOOPML_RUN_ID`` is set) values go to that run; elsewhere the first call
creates a run in the ``default`` experiment. Single calls are buffered and written in batches (at most
every ``LOOPML_METRIC_FLUSH_SECONDS``, default 1 s, or every 1,000 points, and at exit), so a training
loop can log every step cheaply. Steps default to a per-metric counter, so series are monotonic.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from typing import Any

from loopml.config import get_settings

_lock = threading.RLock()
_buffer: list[tuple[str, float, int, float]] = []
_steps: dict[str, int] = {}
_state: dict[str, Any] = {"run_id": None, "last_flush": time.monotonic(), "pid": os.getpid()}
_MAX_POINTS = 1000


def active_run_id() -> str:
    """The run this process logs to (created on first use outside a job)."""
    if _state["pid"] != os.getpid():
        _state.update(run_id=None, pid=os.getpid())
        _buffer.clear()
    if _state["run_id"] is None:
        run_id = os.environ.get("LOOPML_RUN_ID")
        if not run_id:
            from loopml.train import tracking

            run_id = tracking.create_run("default", kind="processing", status="TRAINING").id
        _state["run_id"] = run_id
    return str(_state["run_id"])


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log one metric value (buffered). ``step`` defaults to one more than this metric's last step."""
    with _lock:
        if step is None:
            step = _steps.get(key, -1) + 1
        _steps[key] = max(step, _steps.get(key, -1))
        _buffer.append((key, float(value), int(step), time.time()))
        if len(_buffer) >= _MAX_POINTS or time.monotonic() - _state["last_flush"] > _flush_every():
            flush()


def log_metrics(values: dict[str, float], step: int | None = None) -> None:
    """Log several metrics at the same step (buffered)."""
    for key, value in values.items():
        log_metric(key, value, step)


def log_param(key: str, value: Any) -> None:
    """Record a parameter of the run (written at once)."""
    from loopml.train import tracking

    tracking.log_params(active_run_id(), {key: value})


def flush() -> int:
    """Write buffered metric values now; returns how many were written."""
    with _lock:
        points, _buffer[:] = list(_buffer), []
        _state["last_flush"] = time.monotonic()
    if not points:
        return 0
    from loopml.train import tracking

    return tracking.log_metrics(active_run_id(), [(k, v, s, t) for k, v, s, t in points])


def _flush_every() -> float:
    return get_settings().metric_flush_seconds


def hyperparameters() -> dict[str, Any]:
    """The job's hyperparameters (from ``SM_HPS``), or ``{}`` outside a job."""
    import json

    return dict(json.loads(os.environ.get("SM_HPS", "{}")))


def checkpoint_dir() -> str | None:
    """The job's checkpoint folder, or None outside a job."""
    return os.environ.get("LOOPML_CHECKPOINT_DIR")


atexit.register(lambda: flush() if _buffer else None)
