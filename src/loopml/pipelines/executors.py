"""Executors run step tasks; the orchestrator decides what runs when and records the results.

The protocol (:class:`Executor`) is two methods and one attribute: ``submit`` returns a
:class:`concurrent.futures.Future` of a :class:`StepResult`, ``close`` frees the workers, and
``max_parallel`` bounds how many tasks the orchestrator keeps in flight. Back ends are rows of one lazy
table, :data:`EXECUTORS` (name -> ``module:Class``, imported only when chosen):

* ``inline`` — :class:`InlineExecutor` runs each task in the calling process (debugging and tests).
* ``local`` — :class:`LocalExecutor` keeps a pool of worker processes (as many as cores). A worker that
  crashes or is killed fails only the task it was running; a task past its timeout has its worker killed.
* ``ray`` — :class:`loopml.pipelines._ray.RayExecutor` runs each task as a Ray task on the cluster
  named by the ``cluster`` setting.

Every back end passes the contract suite in :mod:`loopml.testing.executor_contract`.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from importlib import import_module
from multiprocessing.connection import Connection, wait
from typing import Protocol

from loopml.config import get_settings
from loopml.errors import ValidationError
from loopml.pipelines._task import StepResult, StepTask, run_task

EXECUTORS: dict[str, str] = {
    "inline": "loopml.pipelines.executors:InlineExecutor",
    "local": "loopml.pipelines.executors:LocalExecutor",
    "ray": "loopml.pipelines._ray:RayExecutor",
}
"""The executor back ends by name: module paths as data, imported only when one is chosen."""


class Executor(Protocol):
    """Runs step tasks for one orchestrator.

    ``max_parallel`` is how many tasks the orchestrator keeps submitted at once (the executor may
    queue more). The orchestrator alone commits results, under its lease; an executor never writes
    metadata, so a task that runs twice (a crash, a lost node) cannot commit twice.
    """

    max_parallel: int

    def submit(self, task: StepTask) -> Future[StepResult]:
        """Start ``task`` (possibly later); the future resolves to its result, never to an exception.

        A task that raises, crashes its worker, or runs past ``task.timeout`` resolves as a failed
        :class:`StepResult` whose ``error`` names the step and says what happened.
        """

    def close(self) -> None:
        """Stop the workers; futures still pending resolve as failed. Safe to call twice."""


def executor_names() -> tuple[str, ...]:
    """The names :func:`make_executor` accepts."""
    return tuple(EXECUTORS)


def check_executor(name: str | None) -> str | None:
    """``name`` if it is a known executor (None means the default); else a ValidationError naming them."""
    if name is not None and name not in EXECUTORS:
        raise ValidationError(f"executor {name!r} is not one of {', '.join(EXECUTORS)}; "
                              "use local (processes here), inline (this process) or ray (the cluster)",
                              executor=name)
    return name


def default_executor() -> str:
    """``ray`` when a cluster is configured (``LOOPML_CLUSTER`` / ``cluster`` in loopml.toml), else ``local``."""
    return "ray" if get_settings().cluster else "local"


def make_executor(name: str | None = None) -> Executor:
    """A new executor of the named back end (None: :func:`default_executor`)."""
    module, _, cls = EXECUTORS[check_executor(name) or default_executor()].partition(":")
    return getattr(import_module(module), cls)()  # type: ignore[no-any-return]


class InlineExecutor:
    """Runs each task synchronously in this process; timeouts use SIGALRM on the main thread."""

    max_parallel = 1
    isolated = False  # steps share the orchestrator's process: a step that kills itself kills the run

    def submit(self, task: StepTask) -> Future[StepResult]:
        future: Future[StepResult] = Future()
        use_alarm = task.timeout and threading.current_thread() is threading.main_thread()
        if use_alarm:
            def on_alarm(_sig: int, _frame: object) -> None:
                raise TimeoutError(f"step {task.step!r} ran past its timeout of {task.timeout:g} s")

            previous = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, float(task.timeout or 0))
        try:
            future.set_result(run_task(task))
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        return future

    def close(self) -> None:
        return None


def _worker_main(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(run_task(task))


@contextlib.contextmanager
def _hidden_main() -> Iterator[None]:
    """Spawned workers must not re-run the parent's ``__main__`` (a script, a notebook, stdin):
    steps are imported by reference, so the child gets an empty main module instead."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class _Worker:
    def __init__(self, ctx: mp.context.SpawnContext) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="loopml-step-worker")
        with _hidden_main():
            self.proc.start()
        child.close()
        self.task: StepTask | None = None
        self.future: Future[StepResult] | None = None
        self.deadline: float | None = None


class LocalExecutor:
    """A pool of worker processes on this machine.

    Args:
        max_parallel: how many steps run at once (default: the number of cores).
    """

    def __init__(self, max_parallel: int | None = None) -> None:
        self.max_parallel = max_parallel or os.cpu_count() or 1
        self._ctx = mp.get_context("spawn")
        self._idle: list[_Worker] = []
        self._busy: list[_Worker] = []
        self._queue: list[tuple[StepTask, Future[StepResult]]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="loopml-executor")
        self._thread.start()

    def submit(self, task: StepTask) -> Future[StepResult]:
        future: Future[StepResult] = Future()
        with self._lock:
            self._queue.append((task, future))
            self._dispatch()
        return future

    def _dispatch(self) -> None:
        while self._queue and len(self._busy) < self.max_parallel:
            task, future = self._queue.pop(0)
            worker = self._idle.pop() if self._idle else _Worker(self._ctx)
            worker.task, worker.future = task, future
            worker.deadline = time.monotonic() + task.timeout if task.timeout else None
            try:
                worker.conn.send(task)
            except (BrokenPipeError, OSError):
                self._fail(worker, "the worker process could not be reached")
                continue
            self._busy.append(worker)
        self._wake_w.send(b"")

    def _loop(self) -> None:
        while not self._closed:
            with self._lock:
                busy = list(self._busy)
            waitables = [self._wake_r] + [w.conn for w in busy] + [w.proc.sentinel for w in busy]
            ready = wait(waitables, timeout=self._next_timeout(busy))
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            with self._lock:
                self._reap(ready)
                self._dispatch_if_needed()

    def _dispatch_if_needed(self) -> None:
        if self._queue and len(self._busy) < self.max_parallel:
            self._dispatch()

    def _next_timeout(self, busy: list[_Worker]) -> float:
        deadlines = [w.deadline for w in busy if w.deadline]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else 0.5

    def _reap(self, ready: Sequence[object]) -> None:
        for worker in list(self._busy):
            if worker.conn in ready and worker.conn.poll():
                try:
                    result = worker.conn.recv()
                except (EOFError, OSError):
                    self._fail(worker, self._death_message(worker))
                    continue
                self._busy.remove(worker)
                worker.future.set_result(result)  # type: ignore[union-attr]
                self._idle.append(worker)
            elif worker.proc.sentinel in ready or not worker.proc.is_alive():
                self._fail(worker, self._death_message(worker))
            elif worker.deadline and time.monotonic() >= worker.deadline:
                worker.proc.kill()
                worker.proc.join(5)
                self._fail(worker, f"step {worker.task.step!r} ran past its timeout of "  # type: ignore[union-attr]
                                   f"{worker.task.timeout:g} s and its worker was stopped")  # type: ignore[union-attr]

    @staticmethod
    def _death_message(worker: _Worker) -> str:
        worker.proc.join(1)
        code = worker.proc.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return f"the worker process running step {worker.task.step!r} died ({how})"  # type: ignore[union-attr]

    def _fail(self, worker: _Worker, message: str) -> None:
        if worker in self._busy:
            self._busy.remove(worker)
        if worker.proc.is_alive():
            worker.proc.kill()
        task = worker.task
        worker.future.set_result(StepResult(task.step, False, error=message))  # type: ignore[union-attr]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for task, future in self._queue:
                future.set_result(StepResult(task.step, False, error="the executor was closed"))
            self._queue.clear()
            workers = self._idle + self._busy
        self._wake_w.send(b"")
        for worker in workers:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in workers:
            worker.proc.join(2)
            if worker.proc.is_alive():
                worker.proc.kill()
        self._thread.join(2)
