"""The pre-imported worker pool (zygote): replicas and transform workers fork from a process that has
already imported the model libraries, so a cold start pays for loading the model, not for importing
scikit-learn, pandas and uvicorn.

It is the standard library's ``forkserver`` with a preload list, started with a credential-free
environment (:func:`loopml.models.sandbox_env`): the server process is exec'd fresh, so it holds none of
its parent's memory either. It exits when the process that started it exits.

Replicas are launched through the :class:`Launcher` seam; :class:`ZygoteLauncher` forks them from the
zygote (another implementation, such as Ray-hosted replicas, is one more class with ``launch`` returning
a :class:`ReplicaProcess`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path
from typing import Any, Protocol

PRELOAD = ["loopml.serve._preload"]


class ReplicaProcess(Protocol):
    """A started replica as its supervisor sees it (the ``subprocess.Popen`` subset the router uses)."""

    pid: int

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""

    def send_signal(self, sig: int) -> None:
        """Deliver ``sig`` (SIGTERM: drain and exit)."""

    def kill(self) -> None:
        """SIGKILL."""

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the exit; returns the exit code."""


class Launcher(Protocol):
    """Starts one replica process for a spec file; its output goes to ``log``."""

    def launch(self, spec: Path, *, log: Path, cwd: Path) -> ReplicaProcess:
        """Start ``python -m loopml.serve.replica SPEC`` (or its equivalent) and return at once."""


class ZygoteLauncher:
    """Replicas forked from the pre-imported zygote."""

    def launch(self, spec: Path, *, log: Path, cwd: Path) -> ReplicaProcess:
        process = zygote().Process(target=_run_replica, args=(str(spec), str(log), str(cwd)), daemon=False)
        process.start()
        return _Forked(process)


class _Forked:
    """A zygote child behind the :class:`ReplicaProcess` interface."""

    def __init__(self, process: Any) -> None:
        self.process = process
        self.pid = int(process.pid)

    def poll(self) -> int | None:
        code: int | None = self.process.exitcode
        return code

    def send_signal(self, sig: int) -> None:
        if self.process.exitcode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int | None:
        self.process.join(timeout)
        code: int | None = self.process.exitcode
        return code


def _run_replica(spec: str, log: str, cwd: str) -> None:
    """In the forked child: its own session, output to the log, then the replica's main."""
    os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(cwd)
    from loopml.serve import replica

    replica.main([spec])


_LOCK = threading.Lock()


def zygote() -> Any:
    """The forkserver context, its server started (credential-free, libraries imported) if it is not running.

    The server inherits ``os.environ`` when it is started, so the environment is swapped for the sandbox's
    only then, under a lock; endpoint processes call this first thing, before they start any thread.
    """
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    with _LOCK:
        if _running(forkserver):
            return context
        from loopml.serve._model import sandbox_env

        context.set_forkserver_preload(PRELOAD)
        saved, clean = dict(os.environ), sandbox_env()
        try:
            os.environ.clear()
            os.environ.update(clean)
            forkserver.ensure_running()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return context


def _running(forkserver: Any) -> bool:
    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().split(b") ", 1)[1][:1] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def launcher() -> Launcher:
    """The launcher of this process's replicas."""
    return ZygoteLauncher()
