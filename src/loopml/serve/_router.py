"""The endpoint's front door: picks a variant by traffic weight and a replica by load, and forwards.

It also mirrors traffic to a shadow variant (answers discarded; the shadow's replicas capture them),
starts a replica on demand for serverless endpoints (the cold start is measured), refuses past
``max_concurrency`` with 429 (serverless), and keeps per-variant counts and latencies for alarms.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from loopml.errors import LoopmlError
from loopml.serve._features import join_online
from loopml.serve._http import header, read_body, send, send_json
from loopml.serve._replicas import ReplicaSet
from loopml.serve.errors import Overloaded, TooManyRequests

_PASS = (b"content-type", b"x-model-digest", b"x-event-id", b"x-error-id", b"retry-after", b"x-model-name")


@dataclass
class VariantStats:
    """Requests, server errors and recent latencies of one variant (for alarms and ``describe``)."""

    requests: int = 0
    errors_5xx: int = 0
    errors_4xx: int = 0
    latencies: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=2000))

    def reset(self) -> None:
        self.requests = self.errors_5xx = self.errors_4xx = 0
        self.latencies.clear()

    def summary(self) -> dict[str, Any]:
        lat = np.array(self.latencies) * 1000 if self.latencies else None
        return {"requests": self.requests, "errors_5xx": self.errors_5xx, "errors_4xx": self.errors_4xx,
                "p50_ms": float(np.percentile(lat, 50)) if lat is not None else None,
                "p99_ms": float(np.percentile(lat, 99)) if lat is not None else None}


@dataclass
class Variant:
    """A production (or shadow) variant as the router sees it."""

    name: str
    info: dict[str, Any]
    replicas: ReplicaSet
    weight: float
    shadow: bool = False
    stats: VariantStats = field(default_factory=VariantStats)
    cold_starts: list[float] = field(default_factory=list)
    _starting: asyncio.Lock = field(default_factory=asyncio.Lock)


class Router:
    """The ASGI app of the endpoint process (handlers for async invocations are attached by the controller)."""

    def __init__(self, *, mode: str, max_body: int, serverless_concurrency: int, extra: Any = None) -> None:
        self.mode = mode
        self.variants: list[Variant] = []
        self.max_body = max_body
        self.serverless_concurrency = serverless_concurrency
        self.in_flight = 0
        self.last_request = time.monotonic()
        self.extra = extra
        self.feature_group: str | None = None
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(60.0),
                                        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))

    def serving(self) -> list[Variant]:
        return [v for v in self.variants if not v.shadow and v.weight > 0]

    def choose(self) -> Variant:
        """A variant drawn by traffic weight."""
        live = self.serving()
        return random.choices(live, weights=[v.weight for v in live])[0] if len(live) > 1 else live[0]

    async def __call__(self, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send_fn({"type": "lifespan.startup.complete"})
            await send_fn({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if method == "GET" and path in ("/ping", "/healthz", "/v2/health/live", "/v2/health/ready"):
            await send_json(send_fn, 200, {"status": "ok"})
        elif method == "GET" and path == "/_endpoint/stats" and self.extra is not None:
            await send_json(send_fn, 200, self.extra.stats())
        elif self.extra is not None and path.startswith("/async-invocations"):
            await self.extra.handle_async(scope, receive, send_fn, method=method, path=path)
        elif method == "POST":
            await self.forward(scope, receive, send_fn)
        else:
            await send_json(send_fn, 404, {"error": "not_found", "message": f"no route {method} {path}"})

    async def forward(self, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
        """Forward one prediction request to a replica of a weighted-random variant."""
        if self.mode == "serverless" and self.in_flight >= self.serverless_concurrency:
            await self._refuse(send_fn, TooManyRequests(
                f"the endpoint is at its max_concurrency of {self.serverless_concurrency}; retry after 1 s"))
            return
        self.in_flight += 1
        self.last_request = time.monotonic()
        try:
            body = await read_body({"headers": [h for h in scope["headers"] if h[0] == b"content-length"]},
                                   receive, limit=self.max_body)
            variant = self.choose()
            headers = {k.decode(): v.decode("latin-1") for k, v in scope["headers"]
                       if k in (b"content-type", b"content-encoding", b"accept", b"x-target-model")}
            if self.feature_group:
                body = await asyncio.to_thread(join_online, body, self.feature_group, variant.info.get("columns", []))
                headers["content-type"] = "application/json"
            path = scope["path"] + (("?" + scope["query_string"].decode()) if scope.get("query_string") else "")
            status, out_headers, out = await self.call(variant, path, body, headers)
            for shadow in (v for v in self.variants if v.shadow):
                asyncio.get_running_loop().create_task(self._mirror(shadow, path, body, headers))
        except LoopmlError as exc:
            await self._refuse(send_fn, exc)
            return
        finally:
            self.in_flight -= 1
            self.last_request = time.monotonic()
        await send(send_fn, status, out, content_type=out_headers.pop("content-type", "application/json"),
                   headers=[(k.encode(), v.encode()) for k, v in out_headers.items()] +
                   [(b"x-variant", variant.name.encode())])

    async def call(self, variant: Variant, path: str, body: bytes, headers: dict[str, str], *,
                   attempts: int = 3) -> tuple[int, dict[str, str], bytes]:
        """Send to the least busy replica; a replica that vanished (drained, crashed) is retried elsewhere."""
        started = time.perf_counter()
        for attempt in range(attempts):
            replica = variant.replicas.pick() or await self.cold_start(variant)
            replica.in_flight += 1
            try:
                resp = await self.client.post(replica.url + path, content=body, headers=headers)
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise Overloaded(f"no replica of variant {variant.name!r} answered; retry after 1 s") from None
                variant.replicas.reap()
                continue
            finally:
                replica.in_flight -= 1
            self._count(variant, resp.status_code, time.perf_counter() - started)
            return resp.status_code, {k: v for k, v in resp.headers.items() if k.encode() in _PASS}, resp.content
        raise AssertionError("unreachable")

    async def cold_start(self, variant: Variant) -> Any:
        """Start a replica for a variant that has none (serverless, async, or after a crash)."""
        async with variant._starting:
            replica = variant.replicas.pick()
            if replica is None:
                replica = await variant.replicas.start()
                variant.cold_starts.append(replica.startup_seconds)
            return replica

    def _count(self, variant: Variant, status: int, seconds: float) -> None:
        stats = variant.stats
        stats.requests += 1
        stats.latencies.append(seconds)
        if status >= 500:
            stats.errors_5xx += 1
        elif status >= 400:
            stats.errors_4xx += 1

    async def _mirror(self, shadow: Variant, path: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            await self.call(shadow, path, body, headers, attempts=1)
        except (LoopmlError, httpx.HTTPError):
            shadow.stats.errors_5xx += 1

    async def _refuse(self, send_fn: Any, exc: LoopmlError) -> None:
        headers = [(b"retry-after", b"1")] if exc.http_status in (429, 503) else []
        await send_json(send_fn, exc.http_status, exc.to_dict(), headers=headers)


__all__ = ["Router", "Variant", "VariantStats", "header"]
