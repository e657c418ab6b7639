"""Replica processes of one variant: start (sandboxed), wait for ready, pick the least busy, stop with drain."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.errors import BackendError
from loopml.serve._upstream import Upstream
from loopml.serve._zygote import Launcher, ReplicaProcess, launcher


@dataclass
class Replica:
    """One running replica process (mutable bookkeeping owned by the endpoint process)."""

    proc: ReplicaProcess
    port: int
    started: float
    startup_seconds: float
    in_flight: int = 0
    draining: bool = False
    host: str = "127.0.0.1"
    broken: bool = False  # it refused or dropped a connection: no more traffic, the scaler replaces it
    _upstream: Upstream | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def upstream(self) -> Upstream:
        """Kept-alive connections from the router to this replica."""
        if self._upstream is None:
            self._upstream = Upstream(self.host, self.port)
        return self._upstream

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class ReplicaSet:
    """The replicas serving one variant, started from ``spec`` (see :mod:`loopml.serve.replica`)."""

    name: str
    spec: dict[str, Any]
    workdir: Path
    replicas: list[Replica] = field(default_factory=list)
    counter: int = 0
    launcher: Launcher = field(default_factory=launcher)

    def live(self) -> list[Replica]:
        """Replicas that are running, not draining and not broken."""
        return [r for r in self.replicas if not r.draining and not r.broken and r.alive()]

    def pick(self, exclude: tuple[Replica, ...] = ()) -> Replica | None:
        """The live replica with the fewest requests in flight (other than those in ``exclude``)."""
        live = [r for r in self.live() if r not in exclude]
        return min(live, key=lambda r: r.in_flight) if live else None

    async def start(self, *, timeout: float = 600.0) -> Replica:
        """Start one replica and wait until it has loaded and warmed up the model.

        A replica that dies is noticed at once; one that is alive is only slow (a busy machine), so the
        deadline is generous rather than a guess at how long loading takes."""
        self.counter += 1
        ready = self.workdir / f"{self.name}-{self.counter}-{os.getpid()}.ready"
        ready.unlink(missing_ok=True)
        spec_path = ready.with_suffix(".json")
        spec_path.write_text(json.dumps({**self.spec, "ready_file": str(ready), "parent_pid": os.getpid()}))
        t0 = time.monotonic()
        proc = self.launcher.launch(spec_path, log=self.workdir / f"{self.name}.log", cwd=self.workdir)
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() - t0 > timeout:
                proc.kill()
                raise BackendError(f"replica of variant {self.name!r} failed to start (exit {proc.poll()}); see "
                                   f"{self.workdir / (self.name + '.log')}")
            await asyncio.sleep(0.01)
        info = json.loads(ready.read_text())
        replica = Replica(proc, int(info["port"]), t0, time.monotonic() - t0, host=str(info.get("host", "127.0.0.1")))
        self.replicas.append(replica)
        return replica

    async def stop(self, replica: Replica, *, drain_timeout: float = 30.0) -> None:
        """Stop sending it traffic, wait for its in-flight requests, then SIGTERM (it drains, then exits)."""
        replica.draining = True
        deadline = time.monotonic() + drain_timeout
        while replica.in_flight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if replica.alive():
            replica.proc.send_signal(signal.SIGTERM)
        while replica.alive() and time.monotonic() < deadline + 5:
            await asyncio.sleep(0.02)
        if replica.alive():
            replica.proc.kill()
        replica.upstream.close()
        if replica in self.replicas:
            self.replicas.remove(replica)

    async def stop_all(self) -> None:
        """Drain and stop every replica."""
        await asyncio.gather(*(self.stop(r) for r in list(self.replicas)))

    def reap(self) -> int:
        """Forget replicas that died, and stop those that broke a connection; returns how many."""
        dead = [r for r in self.replicas if not r.alive() or (r.broken and r.in_flight == 0)]
        for replica in dead:
            if replica.alive():
                replica.proc.kill()
            replica.upstream.close()
            self.replicas.remove(replica)
        return len(dead)
