"""The endpoint's front door: picks a variant by traffic weight and a replica by load, and forwards.

It also mirrors traffic to a shadow variant (answers discarded; the shadow's replicas capture them),
starts a replica on demand for serverless endpoints (the cold start is measured), refuses past
``max_concurrency`` with 429 (serverless), and keeps per-variant counts and latencies for alarms.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np

from loopml.errors import LoopmlError
from loopml.serve import _oip_router
from loopml.serve._features import join_online
from loopml.serve._http import guarded, header, read_body, send, send_error, send_json
from loopml.serve._openapi import async_paths, openapi
from loopml.serve._replicas import ReplicaSet
from loopml.serve._upstream import UpstreamError
from loopml.serve.errors import MalformedRequest, MethodNotAllowed, Overloaded, TooManyRequests
from loopml.serve.server import no_route

log = logging.getLogger("loopml.serve.router")

_PASS = (b"x-model-digest", b"x-event-id", b"x-error-id", b"retry-after", b"x-model-name")
_FORWARD = (b"content-type", b"content-encoding", b"accept", b"x-target-model", b"x-amzn-sagemaker-inference-id",
            b"x-amzn-sagemaker-custom-attributes")


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
        self.name = ""  # the endpoint's name: OIP paths under it are served here (serve._oip_router)
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(60.0),  # outbound webhooks only (replicas: _upstream)
                                        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))

    def serving(self) -> list[Variant]:
        return [v for v in self.variants if not v.shadow and v.weight > 0]

    def choose(self) -> Variant:
        """A variant drawn by traffic weight."""
        live = self.serving()
        return random.choices(live, weights=[v.weight for v in live])[0] if len(live) > 1 else live[0]

    def pick(self, name: str | None) -> Variant:
        """The variant named by SageMaker's ``TargetVariant`` header, else one drawn by traffic weight."""
        if not name:
            return self.choose()
        for variant in self.variants:
            if variant.name == name and not variant.shadow:
                return variant
        raise MalformedRequest(f"target variant {name[:100]!r} is not a variant of this endpoint; variants are "
                               f"{[v.name for v in self.variants if not v.shadow]}")

    async def __call__(self, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send_fn({"type": "lifespan.startup.complete"})
            await send_fn({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        await guarded(self._route, scope, receive, send_fn, log=log, where="endpoint")

    async def _route(self, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if _CONTROL.search(path):
            await send_error(send_fn, MalformedRequest("the request path holds a control character; "
                                                       "percent-encode it or fix the URL"))
        elif method == "GET" and path in ("/ping", "/healthz", "/v2/health/live", "/v2/health/ready"):
            await send_json(send_fn, 200, {"status": "ok"})
        elif method == "GET" and path == "/openapi.json":
            await send_json(send_fn, 200, self.openapi())
        elif method == "GET" and path == "/_endpoint/stats" and self.extra is not None:
            await send_json(send_fn, 200, self.extra.stats())
        elif method == "GET" and path == "/metrics":
            await send(send_fn, 200, _oip_router.metrics(self), content_type="text/plain; version=0.0.4")
        elif path.startswith("/v2") and await _oip_router.handle(self, scope, receive, send_fn, method=method,
                                                                 path=path):
            pass
        elif self.extra is not None and path.startswith("/async-invocations"):
            await self.extra.handle_async(scope, receive, send_fn, method=method, path=path)
        elif method == "POST" and is_prediction_path(path):
            await self.forward(scope, receive, send_fn)
        elif is_prediction_path(path):
            await send_error(send_fn, MethodNotAllowed(f"{method} is not allowed on {path}; use POST"))
        else:
            await send_error(send_fn, no_route(method, path))

    def openapi(self) -> dict[str, Any]:
        """The endpoint's OpenAPI document: the replica routes it forwards, plus async routes if async."""
        names = sorted({t.get("name", "") for v in self.variants for t in v.replicas.spec.get("models", [])})
        doc = openapi(sorted({*names, self.name} - {""}))
        if self.mode == "async":
            doc["paths"].update(async_paths())
        return doc

    async def forward(self, scope: dict[str, Any], receive: Any, send_fn: Any) -> None:
        """Forward one prediction request to a replica of a weighted-random variant (bytes as received)."""
        if self.mode == "serverless" and self.in_flight >= self.serverless_concurrency:
            await self._refuse(send_fn, TooManyRequests(
                f"the endpoint is at its max_concurrency of {self.serverless_concurrency}; retry after 1 s"))
            return
        self.in_flight += 1
        self.last_request = time.monotonic()
        try:
            body = await read_body({"headers": [h for h in scope["headers"] if h[0] == b"content-length"]},
                                   receive, limit=self.max_body)
            headers = [(k, v) for k, v in scope["headers"] if k in _FORWARD]
            if self.feature_group:
                columns = self.serving()[0].info.get("columns", [])
                body = await asyncio.to_thread(join_online, body, self.feature_group, columns)
                headers = [(k, v) for k, v in headers if k != b"content-type"] + [(b"content-type", b"application/json")]
            path = quote(scope["path"]) + (("?" + scope["query_string"].decode("latin-1"))
                                           if scope.get("query_string") else "")
            variant, status, out_headers, out = await self.call(
                self.pick(header(scope, b"x-amzn-sagemaker-target-variant")), path, body, headers)
            for shadow in (v for v in self.variants if v.shadow):
                asyncio.get_running_loop().create_task(self._mirror(shadow, path, body, headers))
        except LoopmlError as exc:
            await self._refuse(send_fn, exc)
            return
        finally:
            self.in_flight -= 1
            self.last_request = time.monotonic()
        content_type = next((v for k, v in out_headers if k == b"content-type"), b"application/json")
        await send(send_fn, status, out, content_type=content_type.decode("latin-1"),
                   headers=[(k, v) for k, v in out_headers if k in _PASS] + [(b"x-variant", variant.name.encode())])

    async def call(self, variant: Variant, path: str, body: bytes, headers: list[tuple[bytes, bytes]], *,
                   attempts: int = 3) -> tuple[Variant, int, list[tuple[bytes, bytes]], bytes]:
        """Send to the least busy replica; a replica that vanished (drained, crashed) is retried elsewhere.

        A variant taken out of service meanwhile (a rollout finished or rolled back) is replaced by one
        that serves now, so a request never lands on, or cold-starts, a retired variant."""
        started = time.perf_counter()
        tried: tuple[Any, ...] = ()
        for attempt in range(attempts):
            if not variant.shadow and variant not in self.variants:
                variant = self.choose()
            if tried:
                variant.replicas.reap()
            replica = variant.replicas.pick(exclude=tried) or await self.cold_start(variant, exclude=tried)
            replica.in_flight += 1
            try:
                status, out_headers, out = await replica.upstream.post(path, body, headers)
            except UpstreamError as exc:
                # a prediction is idempotent: send it again, to another replica; one that is gone (its
                # process or node lost) gets no more traffic and the scaler replaces it
                replica.broken = replica.broken or exc.gone
                tried += (replica,)
                if attempt == attempts - 1:
                    raise Overloaded(f"no replica of variant {variant.name!r} answered; retry after 1 s") from None
                continue
            finally:
                replica.in_flight -= 1
            self._count(variant, status, time.perf_counter() - started)
            return variant, status, out_headers, out
        raise AssertionError("unreachable")

    async def cold_start(self, variant: Variant, exclude: tuple[Any, ...] = ()) -> Any:
        """Start a replica for a variant that has none (serverless, async, or after a crash)."""
        async with variant._starting:
            replica = variant.replicas.pick(exclude=exclude)
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

    async def _mirror(self, shadow: Variant, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        try:
            await self.call(shadow, path, body, headers, attempts=1)
        except LoopmlError:
            shadow.stats.errors_5xx += 1

    async def _refuse(self, send_fn: Any, exc: LoopmlError) -> None:
        await send_error(send_fn, exc)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_prediction_path(path: str) -> bool:
    """Whether the router forwards ``path`` to a replica (SageMaker, OIP v2 and multi-model routes)."""
    return (path == "/invocations" or (path.startswith("/v2/models/") and path.endswith("/infer"))
            or (path.startswith("/models/") and path.endswith("/invoke")))


__all__ = ["Router", "Variant", "VariantStats", "header"]
