"""The ``ray`` executor: each step attempt is one Ray task on the cluster named by the ``cluster`` setting.

Ray schedules; loopml stays the system of record. A task loads its inputs from the artifact store and
writes its output there, returning only the digest (never a value kept only in Ray's object store); the
orchestrator commits the result under its lease as with every executor. Ray re-runs a task whose node
was lost (``max_retries``); the re-run writes the same content-addressed bytes and the orchestrator
commits once. A step asking for resources that no node has fails at once, naming the resource and what
the cluster offers. A task past its timeout is cancelled with its worker (``ray.cancel(force=True)``).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from loopml.core import cluster
from loopml.errors import ResourcesUnavailable
from loopml.pipelines._task import StepResult, StepTask, run_task

NODE_LOSS_RETRIES = 3


def run_on_node(task: StepTask, env: dict[str, str]) -> StepResult:
    """The Ray task body: take on the driver's settings, run the attempt, say which node ran it."""
    from loopml.core import work

    cluster.apply_environment(env)
    node = cluster.current_node()
    with work.running("step", f"{task.execution_id}/{task.step}", node=node):
        result = run_task(task)
    result.extra["node"] = node
    return result


class RayExecutor:
    """Runs each task as a Ray task; ``max_parallel`` is the cluster's CPU count when it was created."""

    isolated = True

    def __init__(self, max_parallel: int | None = None) -> None:
        self._ray = cluster.connect()
        self.max_parallel = max_parallel or max(1, int(cluster.total("CPU")))
        self._env = cluster.task_environment()
        self._remote = self._ray.remote(run_on_node)
        self._fits: dict[tuple[Any, ...], str | None] = {}
        self._lock = threading.Lock()
        self._live: dict[Any, tuple[StepTask, Future[StepResult], threading.Timer | None]] = {}
        self._timed_out: set[Any] = set()

    def submit(self, task: StepTask) -> Future[StepResult]:
        future: Future[StepResult] = Future()
        request = cluster.resources(**task.resources) if task.resources else cluster.Resources()
        refused = self._refusal(task, request)
        if refused:
            future.set_result(StepResult(task.step, False, error=refused))
            return future
        options = {**request.ray_options(), "max_retries": NODE_LOSS_RETRIES, "retry_exceptions": False,
                   "name": f"loopml:step:{task.step}"}
        ref = self._remote.options(**options).remote(task, self._env)
        timer = None
        if task.timeout:
            timer = threading.Timer(task.timeout, self._time_out, (ref,))
            timer.daemon = True
        with self._lock:
            self._live[ref] = (task, future, timer)
        if timer is not None:
            timer.start()
        ref.future().add_done_callback(lambda done, ref=ref: self._settle(ref, done))
        return future

    def _refusal(self, task: StepTask, request: cluster.Resources) -> str | None:
        key = (request.cpus, request.memory, request.gpus, tuple(sorted(request.custom.items())))
        if key not in self._fits:
            try:
                cluster.check_fits(request, what=f"step {task.step!r}")
                self._fits[key] = None
            except ResourcesUnavailable as exc:
                self._fits[key] = exc.message
        return self._fits[key]

    def _time_out(self, ref: Any) -> None:
        with self._lock:
            if ref not in self._live:
                return
            self._timed_out.add(ref)
        self._ray.cancel(ref, force=True)

    def _settle(self, ref: Any, done: Future[Any]) -> None:
        with self._lock:
            entry = self._live.pop(ref, None)
            timed_out = ref in self._timed_out
            self._timed_out.discard(ref)
        if entry is None:
            return
        task, future, timer = entry
        if timer is not None:
            timer.cancel()
        try:
            result = done.result()
        except BaseException as exc:  # noqa: BLE001 - every Ray failure becomes the step's error
            result = StepResult(task.step, False, error=self._failure(task, exc, timed_out))
        if not future.done():
            future.set_result(result)

    def _failure(self, task: StepTask, exc: BaseException, timed_out: bool) -> str:
        kind = type(exc).__name__
        if timed_out:
            return (f"step {task.step!r} ran past its timeout of {task.timeout:g} s and its Ray worker was stopped")
        if "Cancelled" in kind:
            return f"step {task.step!r} was cancelled on the cluster"
        if "OutOfMemory" in kind:
            return f"step {task.step!r} ran out of memory on its node ({kind}); ask for more with @step(memory=...)"
        if "NodeDied" in kind or "RayletDied" in kind:
            return (f"the node running step {task.step!r} died and Ray's {NODE_LOSS_RETRIES} retries on other "
                    f"nodes were used up ({kind})")
        if "WorkerCrashed" in kind or "ActorDied" in kind or "WorkerDied" in kind:
            return f"the Ray worker running step {task.step!r} died ({kind}; Ray retried it {NODE_LOSS_RETRIES} times)"
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return f"step {task.step!r} failed on the cluster ({kind}: {first})"

    def close(self) -> None:
        with self._lock:
            live = list(self._live.items())
            self._live.clear()
        for ref, (task, future, timer) in live:
            if timer is not None:
                timer.cancel()
            self._ray.cancel(ref, force=True)
            if not future.done():
                future.set_result(StepResult(task.step, False, error="the executor was closed"))
