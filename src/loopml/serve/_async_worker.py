"""The async side of an endpoint process: the 202 route, queue workers, notifications, scale to zero."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx

from loopml.core import context
from loopml.errors import LoopmlError
from loopml.serve import _records, async_queue
from loopml.serve._http import header, read_body, send, send_json


class AsyncWorkers:
    """Workers that drain one endpoint's queue through its replicas (started on demand, stopped when idle)."""

    def __init__(self, process: Any) -> None:
        self.p = process
        cfg = process.endpoint.config
        self.max_attempts = int(cfg["async"]["max_attempts"])
        self.webhook = cfg["async"].get("webhook")
        self.count = max(1, cfg["scaling"]["max"] * cfg["server"]["max_concurrency"])
        self.owner = f"endpoint:{process.name}:{os.getpid()}"
        self.done = self.failed = 0
        self.paused_until = 0.0

    def stats(self) -> dict[str, Any]:
        return {"completed": self.done, "failed": self.failed, "workers": self.count}

    def tasks(self) -> list[Any]:
        async_queue.recover(self.p.name)
        return [self.work(i) for i in range(self.count)] + [self.idle_stop()]

    async def handle(self, scope: dict[str, Any], receive: Any, send_fn: Any, *, method: str, path: str) -> None:
        """``POST /async-invocations`` → 202 after the request is committed; ``GET .../{id}`` → its status."""
        try:
            if method == "POST" and path == "/async-invocations":
                body = await read_body(scope, receive, limit=self.p.router.max_body)
                ttl = header(scope, b"x-amzn-sagemaker-requestttlseconds")
                req, created = await asyncio.to_thread(
                    async_queue.submit, self.p.name, body,
                    content_type=header(scope, b"content-type") or "application/json",
                    idempotency_key=header(scope, b"x-amzn-sagemaker-inferenceid"),
                    ttl=float(ttl) if ttl else None, max_attempts=self.max_attempts)
                await send_json(send_fn, 202, {**req.to_dict(), "created": created},
                                headers=[(b"x-amzn-sagemaker-outputlocation", req.output_location.encode())])
            elif method == "GET" and path.endswith("/result"):
                out = await asyncio.to_thread(async_queue.result, path.split("/")[-2])
                await send(send_fn, 200, out)
            elif method == "GET":
                req = await asyncio.to_thread(async_queue.get, path.rsplit("/", 1)[-1])
                await send_json(send_fn, 200, req.to_dict())
            else:
                await send_json(send_fn, 405, {"error": "method", "message": f"{method} {path} is not allowed"})
        except LoopmlError as exc:
            await send_json(send_fn, exc.http_status, exc.to_dict())

    async def work(self, index: int) -> None:
        await asyncio.sleep(index * 0.01)
        while True:
            if time.time() < self.paused_until:
                await asyncio.sleep(0.1)
                continue
            claimed = await asyncio.to_thread(async_queue.claim, self.p.name, f"{self.owner}:{index}",
                                              lease_ttl=30.0)
            if claimed is None:
                await asyncio.sleep(0.1)
                continue
            await self.process(*claimed)

    async def process(self, req: async_queue.AsyncRequest, lease: Any) -> None:
        """Run one request through a replica and commit its outcome (only if our lease is current)."""
        variant = self.p.router.choose()
        body = await asyncio.to_thread(context.get_artifacts().get_bytes, req.input_digest)
        try:
            status, _, out = await self.p.router.call(variant, "/invocations", body, {"content-type": req.content_type})
        except LoopmlError as exc:
            status, out = 503, json.dumps(exc.to_dict()).encode()
        if status == 200:
            final = await asyncio.to_thread(async_queue.complete, req, lease, out)
            self.done += 1
        else:
            error = f"HTTP {status}: {out[:500].decode(errors='replace')}"
            if 400 <= status < 500:
                req = _poisoned(req)
            final = await asyncio.to_thread(async_queue.attempt_failed, req, lease, error)
            if final.status == async_queue.PENDING:
                return
            self.failed += 1
        await self.notify(final)

    async def notify(self, req: async_queue.AsyncRequest) -> None:
        """A success/failure event in the store, and a POST to the webhook URL if one is configured."""
        kind = "async.success" if req.status == async_queue.COMPLETED else "async.failure"
        await asyncio.to_thread(self._event, kind, req.to_dict())
        if self.webhook:
            from loopml.core import net
            from loopml.errors import LoopmlError

            try:
                await asyncio.to_thread(net.check_url, self.webhook)  # re-checked at send time (rebinding)
                await self.p.router.client.post(self.webhook, json={"event": kind, **req.to_dict()}, timeout=5.0,
                                                follow_redirects=False)
            except (httpx.HTTPError, LoopmlError):
                await asyncio.to_thread(self._event, "async.webhook_failed", {"inference_id": req.id})

    def _event(self, kind: str, details: dict[str, Any]) -> None:
        with context.get_db().write() as conn:
            _records.add_event(conn, self.p.name, kind, details)

    async def idle_stop(self) -> None:
        """Scale to zero: stop the replicas once the queue has been empty for a few seconds."""
        idle = float(self.p.endpoint.config["serverless"].get("idle_seconds", 60))
        empty_since = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            if await asyncio.to_thread(async_queue.backlog, self.p.name):
                empty_since = time.monotonic()
            elif time.monotonic() - empty_since > idle:
                for variant in self.p.router.variants:
                    for replica in list(variant.replicas.live()):
                        await variant.replicas.stop(replica)


def _poisoned(req: async_queue.AsyncRequest) -> async_queue.AsyncRequest:
    """A 4xx will fail the same way on every attempt: treat this attempt as the last one."""
    from dataclasses import replace

    return replace(req, attempts=req.max_attempts)
