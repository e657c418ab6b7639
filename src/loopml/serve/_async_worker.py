"""The async side of an endpoint process: the 202 route, queue workers, notifications, scale to zero."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from loopml.core import context
from loopml.errors import LoopmlError
from loopml.serve import _records, async_queue
from loopml.serve._http import error_doc, header, new_error_id, read_body, send, send_error, send_json
from loopml.serve.async_queue import MAX_TTL, parse_ttl  # noqa: F401 - the route below parses TTLs
from loopml.serve.errors import MethodNotAllowed


class AsyncWorkers:
    """Workers that drain one endpoint's queue through its replicas (started on demand, stopped when idle)."""

    def __init__(self, process: Any) -> None:
        self.p = process
        cfg = process.endpoint.typed_config
        self.max_attempts = cfg.async_.max_attempts
        self.webhook = cfg.async_.webhook
        self.count = max(1, cfg.scaling.max * cfg.server.max_concurrency)
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
                    idempotency_key=header(scope, b"x-amzn-sagemaker-inference-id")
                    or header(scope, b"x-amzn-sagemaker-inferenceid"),
                    ttl=parse_ttl(ttl), max_attempts=self.max_attempts,
                    accept=header(scope, b"x-amzn-sagemaker-accept") or header(scope, b"accept"),
                    custom_attributes=header(scope, b"x-amzn-sagemaker-custom-attributes"))
                await send_json(send_fn, 202, {**req.to_dict(), "created": created},
                                headers=[(b"x-amzn-sagemaker-outputlocation", req.output_location.encode())])
            elif method == "GET" and path.endswith("/result"):
                out = await asyncio.to_thread(async_queue.result, path.split("/")[-2])
                await send(send_fn, 200, out)
            elif method == "GET":
                req = await asyncio.to_thread(async_queue.get, path.rsplit("/", 1)[-1])
                await send_json(send_fn, 200, req.to_dict())
            else:
                raise MethodNotAllowed(f"{method} is not allowed on {path}; POST /async-invocations queues a "
                                       "request, GET /async-invocations/{id}[/result] reads it")
        except LoopmlError as exc:
            await send_error(send_fn, exc)

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
        out_type = "application/json"
        try:
            _, status, out_headers, out = await self.p.router.call(variant, "/invocations", body, _headers(req))
        except LoopmlError as exc:
            status, out = 503, json.dumps(error_doc(exc, new_error_id())).encode()
        if status == 200:
            out_type = next((v.decode("latin-1") for k, v in out_headers if k.lower() == b"content-type"), out_type)
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
        await self.notify(final, out if status == 200 else None, content_type=out_type)

    async def notify(self, req: async_queue.AsyncRequest, output: bytes | None = None, *,
                     content_type: str = "application/json") -> None:
        """The answer (or error) at its SageMaker output (or failure) location, a success/failure event in the
        store, and a POST to the webhook URL if one is configured."""
        from loopml.serve import async_files

        try:
            await asyncio.to_thread(async_files.write_outcome, self.p.name, req.id,
                                    output=output if req.status == async_queue.COMPLETED else None, error=req.error,
                                    content_type=content_type)
        except (OSError, LoopmlError) as exc:
            await asyncio.to_thread(self._event, "async.output_failed", {"inference_id": req.id, "error": str(exc)})
        kind = "async.success" if req.status == async_queue.COMPLETED else "async.failure"
        await asyncio.to_thread(self._event, kind, req.to_dict())
        if self.webhook:
            from loopml.core import net

            try:  # checked again now and sent to exactly the address checked (no DNS rebinding)
                await net.asend_json(self.p.router.client, self.webhook, {"event": kind, **req.to_dict()})
            except LoopmlError:
                await asyncio.to_thread(self._event, "async.webhook_failed", {"inference_id": req.id})

    def _event(self, kind: str, details: dict[str, Any]) -> None:
        with context.get_db().write() as conn:
            _records.add_event(conn, self.p.name, kind, details)

    async def idle_stop(self) -> None:
        """Scale to zero: stop the replicas once the queue has been empty for a few seconds."""
        idle = self.p.endpoint.typed_config.serverless.idle_seconds
        empty_since = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            if await asyncio.to_thread(async_queue.backlog, self.p.name):
                empty_since = time.monotonic()
            elif time.monotonic() - empty_since > idle:
                for variant in self.p.router.variants:
                    for replica in list(variant.replicas.live()):
                        await variant.replicas.stop(replica)


def _headers(req: async_queue.AsyncRequest) -> list[tuple[bytes, bytes]]:
    """The headers a queued request had at submission that the model sees, as on a synchronous call."""
    headers = [(b"content-type", req.content_type.encode("latin-1"))]
    if req.idempotency_key != req.id:  # the caller's InferenceId, for the capture record
        headers.append((b"x-amzn-sagemaker-inference-id", req.idempotency_key.encode("latin-1")))
    if req.accept:
        headers.append((b"accept", req.accept.encode("latin-1")))
    if req.custom_attributes:
        headers.append((b"x-amzn-sagemaker-custom-attributes", req.custom_attributes.encode("latin-1")))
    return headers


def _poisoned(req: async_queue.AsyncRequest) -> async_queue.AsyncRequest:
    """A 4xx will fail the same way on every attempt: treat this attempt as the last one."""
    from dataclasses import replace

    return replace(req, attempts=req.max_attempts)
