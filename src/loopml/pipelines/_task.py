"""What runs for one attempt of one step, in whichever process the executor chose.

A task names its step function by reference, carries its literal arguments and the digests of its
input artifacts, and returns the digest of the output it stored. The orchestrator, not the task,
commits the result, so a worker that dies or stalls can never half-record a step.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

_LOG_LIMIT = 64 * 1024
_current: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("loopml_step", default=None)


def current_step() -> tuple[str, str] | None:
    """``(execution_id, step)`` while a step's function runs, else None (for automatic lineage)."""
    return _current.get()


@dataclass(frozen=True)
class StepTask:
    """Everything a worker needs to run one attempt of a step."""

    execution_id: str
    step: str
    fn_ref: str
    literals: dict[str, Any]
    inputs: dict[str, dict[str, Any]]  # arg -> {"digest", "media_type", "path", "node"}
    timeout: float | None = None
    attempt: int = 1
    resources: dict[str, Any] | None = None  # keyword arguments of loopml.core.cluster.resources()


@dataclass
class StepResult:
    """The outcome of one attempt: an output reference, or an error with the traceback's last lines."""

    step: str
    ok: bool
    output_digest: str | None = None
    output_media_type: str | None = None
    output_size: int = 0
    error: str | None = None
    logs: str = ""
    duration_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _resolve_fn(ref: str) -> Any:
    from loopml.pipelines._code import load_ref
    from loopml.pipelines._sdk import Step

    obj = load_ref(ref)
    return obj.spec if isinstance(obj, Step) else None


def run_task(task: StepTask) -> StepResult:
    """Load the inputs, call the step, store its output. Never raises: errors come back in the result."""
    from loopml.core import context
    from loopml.pipelines import _serde

    started = time.perf_counter()
    logs = io.StringIO()
    try:
        spec = _resolve_fn(task.fn_ref)
        if spec is None:
            raise LookupError(f"{task.fn_ref} is not a @step function")
        store = context.get_artifacts()
        kwargs = dict(task.literals)
        for arg, ref in task.inputs.items():
            value = _serde.load(ref["digest"], ref["media_type"], store)
            kwargs[arg] = _serde.select(value, ref["path"], node=ref["node"])
        token = _current.set((task.execution_id, task.step))
        try:
            with contextlib.redirect_stdout(logs), contextlib.redirect_stderr(logs):
                value = spec.fn(**kwargs)
        finally:
            _current.reset(token)
        out, media_type = _serde.dump(value, store, step=task.step, serializer=spec.serializer)
        return StepResult(task.step, True, out.sha256, media_type, out.size, logs=_tail(logs.getvalue()),
                          duration_ms=(time.perf_counter() - started) * 1000)
    except Exception as exc:  # noqa: BLE001 - a step's failure is data, reported to the orchestrator
        return StepResult(task.step, False, error=_error_text(exc), logs=_tail(logs.getvalue()),
                          duration_ms=(time.perf_counter() - started) * 1000)


def _tail(text: str) -> str:
    return text[-_LOG_LIMIT:]


def _error_text(exc: BaseException) -> str:
    lines = traceback.format_exception(exc)
    return "".join(lines[-6:]).strip()
