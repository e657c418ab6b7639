"""The endpoint process: serves the router, supervises replicas, scales, rolls out, drains the async queue.

Run as ``python -m loopml.serve.controller NAME`` (``loopml endpoint create`` / ``start-all`` do it). It
holds the credentials; the replicas it starts do not. It fetches each variant's model folder through the
registry (digest verified before anything loads it), records its pid, port and status in the metadata
store, and on SIGTERM drains in-flight requests, stops the replicas and uploads pending capture files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from loopml.core import context
from loopml.errors import LoopmlError
from loopml.serve import _records, capture
from loopml.serve._async_worker import AsyncWorkers
from loopml.serve._http import listening_socket, run_loop
from loopml.serve._replicas import ReplicaSet
from loopml.serve._rollout import Rollouts
from loopml.serve._router import Router, Variant
from loopml.serve._signature import parse_signature
from loopml.serve._zygote import Launcher, ZygoteLauncher, zygote
from loopml.serve.endpoints import endpoint_dir

log = logging.getLogger("loopml.serve.endpoint")


class EndpointProcess:
    """Everything the endpoint process does, around one :class:`Router`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.endpoint = self.read()
        self.dir = endpoint_dir(name)
        self.models_dir = Path(tempfile.mkdtemp(prefix="models-", dir=self.dir))
        cfg = self.endpoint.typed_config
        self.router = Router(mode=self.endpoint.mode, max_body=cfg.server.max_body,
                             serverless_concurrency=cfg.serverless.max_concurrency, extra=self)
        self.router.feature_group = cfg.feature_group
        self.router.name = name
        self.rollouts = Rollouts(self)
        self.workers = AsyncWorkers(self) if self.endpoint.mode == "async" else None
        self.server: Any = None
        self._launcher: Launcher | None = None

    def read(self) -> _records.Endpoint:
        with context.get_db().read() as conn:
            return _records.get(conn, self.name)

    def write(self, **values: Any) -> None:
        with context.get_db().write() as conn:
            _records.update(conn, self.name, **values)

    def event(self, kind: str, details: dict[str, Any]) -> None:
        with context.get_db().write() as conn:
            _records.add_event(conn, self.name, kind, details)

    def make_variant(self, info: dict[str, Any]) -> Variant:
        """Fetch (verified) the variant's model(s) and prepare its replica set; nothing is started yet."""
        from loopml import registry

        cfg = self.endpoint.typed_config
        targets = [info, *(t.model_dump() for t in cfg.targets)] if cfg.targets else [info]
        models = []
        for t in targets:
            folder = self.models_dir / t["digest"].split(":")[-1] / "model"
            version = registry.get_version(t["group"], t["version"])
            if not folder.exists():
                registry.fetch_model(version, folder)
            models.append({"name": t["model"] if len(targets) > 1 else t["name"], "folder": str(folder),
                           "digest": t["digest"], "version": str(t["version"]), "trust": version.runs_code})
        spec = {"models": models, "multi_model": len(targets) > 1, "memory_budget": cfg.memory_budget,
                "server": cfg.server.model_dump(), "capture": {"percent": 100.0 if info.get("shadow") else
                                                               cfg.capture.percent,
                                                     "spool": str(self.dir / "spool" / info["name"])}}
        columns = [c.name for c in parse_signature(registry.get_version(info["group"], info["version"]).signature)]
        info = {**info, "columns": columns}
        return Variant(info["name"], info, ReplicaSet(info["name"], spec, self.dir, launcher=self.launcher()),
                       info["weight"], shadow=bool(info.get("shadow")))

    def launcher(self) -> Launcher:
        """Where this endpoint's replicas run: forked here from the zygote, or Ray actors on the cluster."""
        cfg = self.endpoint.typed_config
        if self._launcher is None:
            if cfg.placement == "cluster":
                from loopml.serve._ray_replicas import RayLauncher

                self._launcher = RayLauncher(self.name, cfg.replica_resources)
            else:
                self._launcher = ZygoteLauncher()
        return self._launcher

    def initial_replicas(self) -> int:
        return self.endpoint.typed_config.scaling.min if self.endpoint.mode == "realtime" else 0

    def stats(self) -> dict[str, Any]:
        """Live figures for ``describe``: per-variant traffic, latency, replicas and cold starts."""
        return {"in_flight": self.router.in_flight, "mode": self.endpoint.mode,
                "variants": [{"name": v.name, "model": v.info["model"], "weight": v.weight, "shadow": v.shadow,
                              "replicas": len(v.replicas.live()), **v.stats.summary(),
                              "cold_starts_s": v.cold_starts[-10:]} for v in self.router.variants],
                "deployment": self.rollouts.state, "queue": self.workers.stats() if self.workers else None}

    async def handle_async(self, scope: dict[str, Any], receive: Any, send_fn: Any, *, method: str, path: str) -> None:
        if self.workers is None:
            from loopml.serve._http import send_error
            from loopml.serve.errors import NoRoute

            await send_error(send_fn, NoRoute(f"endpoint {self.name!r} is {self.endpoint.mode}, not async; use "
                                              "/invocations"))
            return
        await self.workers.handle(scope, receive, send_fn, method=method, path=path)

    async def autoscale(self) -> None:
        """Target tracking on in-flight requests per replica, between min and max (realtime)."""
        scaling = self.endpoint.typed_config.scaling
        samples: list[int] = []
        low_since: float | None = None
        while True:
            await asyncio.sleep(0.25)
            samples = (samples + [self.router.in_flight])[-8:]
            for variant in self.router.serving():
                live = len(variant.replicas.live())
                want = min(scaling.max, max(scaling.min, math.ceil(sum(samples) / len(samples) /
                                                                   scaling.target_in_flight)))
                variant.replicas.reap()
                if want > live:
                    low_since = None
                    try:
                        await variant.replicas.start()
                    except LoopmlError as exc:  # e.g. its node was lost while it started: try again
                        log.warning("a replica of %s did not start: %s", variant.name, exc.message)
                        await asyncio.sleep(1.0)
                elif want < live:
                    low_since = low_since or time.monotonic()
                    if time.monotonic() - low_since > 10:
                        await variant.replicas.stop(variant.replicas.live()[-1])
                        low_since = None

    async def scale_to_zero(self) -> None:
        """Serverless: stop every replica after ``idle_seconds`` without a request."""
        idle = self.endpoint.typed_config.serverless.idle_seconds
        while True:
            await asyncio.sleep(min(1.0, idle / 4))
            if self.router.in_flight == 0 and time.monotonic() - self.router.last_request > idle:
                for variant in self.router.variants:
                    for replica in list(variant.replicas.live()):
                        await variant.replicas.stop(replica)

    async def watch(self) -> None:
        """Follow the stored desired state: rollouts requested by ``update``, stop requested by ``stop``."""
        spool = self.dir / "spool"
        last_upload = time.monotonic()
        while True:
            await asyncio.sleep(0.3)
            e = self.read()
            if e.desired != "InService":
                self.server.should_exit = True
                return
            if e.deployment.get("state") == "Requested" and not self.rollouts.busy:
                asyncio.get_running_loop().create_task(self.rollouts.run(e.deployment))
            if time.monotonic() - last_upload > 60 or e.runtime.get("flush_requested"):
                await asyncio.to_thread(capture.upload_spool, self.name, spool,
                                        include_current=bool(e.runtime.get("flush_requested")))
                if e.runtime.get("flush_requested"):
                    self.write(runtime={**e.runtime, "flush_requested": False, "flushed_at": time.time()})
                last_upload = time.monotonic()

    async def main(self) -> None:
        import uvicorn

        zygote()  # before any thread: import the model libraries once, now, not at the first cold start
        for info in self.endpoint.variants:
            self.router.variants.append(self.make_variant(info))
        for variant in self.router.variants:
            for _ in range(self.initial_replicas() if not variant.shadow else min(1, self.initial_replicas())):
                await variant.replicas.start()
        sock = _bind(int(self.endpoint.typed_config.port or self.endpoint.runtime.get("port") or 0))
        port = sock.getsockname()[1]
        # keep-alive longer than clients keep idle connections (httpx: 5 s), so the server never closes a
        # connection just as a client sends on it (a starved client thread lost a request that way)
        config = uvicorn.Config(self.router, log_level="warning", access_log=False, http="httptools",
                                lifespan="on", timeout_graceful_shutdown=30, proxy_headers=False,
                                timeout_keep_alive=75)
        self.server = _Server(config)
        me = psutil.Process()
        self.write(status="InService", runtime={"pid": os.getpid(), "pid_started": me.create_time(), "port": port,
                                                "url": f"http://127.0.0.1:{port}", "started_at": time.time()})
        tasks = [self.watch()]
        tasks += [self.autoscale()] if self.endpoint.mode == "realtime" else [self.scale_to_zero()]
        tasks += self.workers.tasks() if self.workers else []
        background = [asyncio.get_running_loop().create_task(t) for t in tasks]
        try:
            await self.server.serve(sockets=[sock])
        finally:
            for task in background:
                task.cancel()
            await self.shutdown()

    async def shutdown(self) -> None:
        for variant in self.router.variants:
            await variant.replicas.stop_all()
        await self.router.client.aclose()
        try:
            capture.upload_spool(self.name, self.dir / "spool", include_current=True)
        except LoopmlError as exc:
            log.warning("capture upload failed at shutdown: %s", exc.message)
        shutil.rmtree(self.models_dir, ignore_errors=True)
        e = self.read()
        self.write(status="Stopped" if e.desired != "InService" else "OutOfService")


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, minus re-raising SIGTERM after shutdown (we still have replicas to stop)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def _Server(config: Any) -> Any:  # noqa: N802 - a class factory
    return _server_class()(config)


def _bind(port: int) -> socket.socket:
    """The endpoint's port if it is free, else any free port (the stored URL says which)."""
    try:
        return listening_socket("127.0.0.1", port)
    except OSError:
        return listening_socket("127.0.0.1", 0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python -m loopml.serve.controller NAME``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for noisy in ("httpx", "httpcore", "alembic"):  # one line per forwarded request is too much
        logging.getLogger(noisy).setLevel(logging.WARNING)
    name = (argv if argv is not None else sys.argv[1:])[0]
    process = EndpointProcess(name)
    try:
        run_loop(process.main())
    except LoopmlError as exc:
        log.error("endpoint %s failed: %s", name, exc.message)
        process.write(status="Failed", runtime={"error": exc.message})
        raise SystemExit(1) from exc


if __name__ == "__main__":
    main()
