"""Minimal ASGI plumbing: reading a bounded (optionally gzip-compressed) body, sending a response.

The size limit applies to the bytes on the wire and again to the decompressed bytes, which are inflated
in bounded steps, so neither an oversized body nor a gzip bomb is ever held in memory.
"""

from __future__ import annotations

import json
import socket
import uuid
import zlib
from typing import Any

from loopml.errors import LoopmlError
from loopml.serve.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """A request header's value (first occurrence), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _too_large(limit: int, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"the {what} is over the endpoint's limit of {limit} bytes; send fewer rows per "
                           "request or use batch transform", limit=limit)


async def read_body(scope: dict[str, Any], receive: Any, *, limit: int) -> bytes:
    """The request body, decompressed if ``Content-Encoding: gzip``; 413 as soon as it passes ``limit``."""
    length = header(scope, b"content-length")
    if length is not None and length.isdigit() and (len(length) > 18 or int(length) > limit):
        raise _too_large(limit, "body")
    encoding = (header(scope, b"content-encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "deflate"):
        raise UnsupportedMediaType(f"content encoding {encoding!r} is not accepted; use gzip or none")
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS) \
        if encoding != "identity" else None
    parts: list[bytes] = []
    received = size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise MalformedRequest("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        received += len(chunk)
        if received > limit:
            raise _too_large(limit, "body")
        if inflate is not None:
            chunk = _inflate(inflate, chunk, limit - size, limit)
        size += len(chunk)
        parts.append(chunk)
    if inflate is not None and not inflate.eof:
        raise MalformedRequest("the compressed body is truncated")
    return b"".join(parts)


def _inflate(inflate: Any, chunk: bytes, room: int, limit: int) -> bytes:
    try:
        out: bytes = inflate.decompress(chunk, room + 1)
    except zlib.error as exc:
        raise MalformedRequest(f"the body is not valid gzip/deflate data ({exc})") from exc
    if len(out) > room or inflate.unconsumed_tail:
        raise _too_large(limit, "decompressed body")
    return out


async def send(send_fn: Any, status: int, body: bytes, *, content_type: str = "application/json",
               headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a complete response."""
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send_fn({"type": "http.response.start", "status": status, "headers": raw + (headers or [])})
    await send_fn({"type": "http.response.body", "body": body})


async def send_json(send_fn: Any, status: int, doc: Any, *,
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a JSON response (strict JSON: never bare NaN)."""
    body = json.dumps(doc, separators=(",", ":"), allow_nan=False, default=str).encode()
    await send(send_fn, status, body, headers=headers)


def new_error_id() -> str:
    """A fresh id naming one error answer (also sent as ``X-Error-Id`` and written to the log)."""
    return "err_" + uuid.uuid4().hex[:16]


def error_doc(exc: LoopmlError, error_id: str) -> dict[str, Any]:
    """The one error shape of serving: ``{"error", "message", "error_id"}`` plus ``pointer``/``violations``."""
    doc = {**exc.to_dict(), "error_id": error_id}
    for key in ("pointer", "violations"):
        if key in exc.fields:
            doc[key] = exc.fields[key]
    return doc


async def send_error(send_fn: Any, exc: LoopmlError, *, error_id: str | None = None) -> str:
    """Answer with ``exc`` in the error shape (``Retry-After`` on 429/503); returns the error id."""
    error_id = error_id or new_error_id()
    headers = [(b"x-error-id", error_id.encode())]
    if exc.http_status in (429, 503):
        headers.append((b"retry-after", str(getattr(exc, "retry_after", 1)).encode()))
    await send_json(send_fn, exc.http_status, error_doc(exc, error_id), headers=headers)
    return error_id


async def guarded(route: Any, scope: dict[str, Any], receive: Any, send_fn: Any, *, log: Any, where: str) -> None:
    """Run ``route``; an unexpected exception (a bug) is logged with an error id and still answered in the
    error shape, never as a bare 500."""
    try:
        await route(scope, receive, send_fn)
    except Exception:  # noqa: BLE001 - the last line of defence of a request
        error_id = new_error_id()
        log.exception("error %s: unhandled error on %s %r", error_id, scope.get("method"), scope.get("path"))
        await send_error(send_fn, LoopmlError(f"the {where} failed on this request; the error_id identifies it in "
                                              f"the {where} log"), error_id=error_id)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: a free port) and listening, for uvicorn to serve on.

    Created with ``IPPROTO_TCP`` and ``TCP_NODELAY``: asyncio turns Nagle's algorithm off only on accepted
    sockets whose protocol is stated, and uvicorn writes a response as two segments (head, then body);
    with Nagle on, the body waits for the client's delayed ACK — about 40 ms on every request of a
    kept-alive connection (RELIABILITY case 47).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def run_loop(main: Any) -> Any:
    """Run the coroutine ``main`` on uvloop when it is installed (as uvicorn's ``loop="auto"`` does for the
    replicas): its transports, timers and callbacks are C rather than Python."""
    try:
        import uvloop
    except ImportError:
        import asyncio

        return asyncio.run(main)
    return uvloop.run(main)
