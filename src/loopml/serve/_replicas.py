"""Replica processes of one variant: start (sandboxed), wait for ready, pick the least busy, stop with drain."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.errors import BackendError
from loopml.serve._model import sandbox_env


@dataclass
class Replica:
    """One running replica process (mutable bookkeeping owned by the endpoint process)."""

    proc: subprocess.Popen[bytes]
    port: int
    started: float
    startup_seconds: float
    in_flight: int = 0
    draining: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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

    def live(self) -> list[Replica]:
        """Replicas that are running and not draining."""
        return [r for r in self.replicas if not r.draining and r.alive()]

    def pick(self) -> Replica | None:
        """The live replica with the fewest requests in flight."""
        live = self.live()
        return min(live, key=lambda r: r.in_flight) if live else None

    async def start(self, *, timeout: float = 60.0) -> Replica:
        """Start one replica and wait until it has loaded and warmed up the model."""
        self.counter += 1
        ready = self.workdir / f"{self.name}-{self.counter}-{os.getpid()}.ready"
        ready.unlink(missing_ok=True)
        spec_path = ready.with_suffix(".json")
        spec_path.write_text(json.dumps({**self.spec, "ready_file": str(ready), "parent_pid": os.getpid()}))
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115 - handed to the child
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "loopml.serve.replica", str(spec_path)], env=sandbox_env(),
                                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        log.close()
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() - t0 > timeout:
                proc.kill()
                raise BackendError(f"replica of variant {self.name!r} failed to start (exit {proc.poll()}); see "
                                   f"{self.workdir / (self.name + '.log')}")
            await asyncio.sleep(0.01)
        info = json.loads(ready.read_text())
        replica = Replica(proc, int(info["port"]), t0, time.monotonic() - t0)
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
        if replica in self.replicas:
            self.replicas.remove(replica)

    async def stop_all(self) -> None:
        """Drain and stop every replica."""
        await asyncio.gather(*(self.stop(r) for r in list(self.replicas)))

    def reap(self) -> int:
        """Forget replicas that died; returns how many."""
        dead = [r for r in self.replicas if not r.alive()]
        for replica in dead:
            self.replicas.remove(replica)
        return len(dead)
