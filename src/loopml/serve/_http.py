"""Minimal ASGI plumbing: reading a bounded (optionally gzip-compressed) body, sending a response.

The size limit applies to the bytes on the wire and again to the decompressed bytes, which are inflated
in bounded steps, so neither an oversized body nor a gzip bomb is ever held in memory.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from loopml.serve.errors import MalformedRequest, PayloadTooLarge, UnsupportedMediaType


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """A request header's value (first occurrence), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _too_large(limit: int, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"the {what} is over the endpoint's limit of {limit} bytes; send fewer rows per "
                           "request or use batch transform", limit=limit)


async def read_body(scope: dict[str, Any], receive: Any, *, limit: int) -> bytes:
    """The request body, decompressed if ``Content-Encoding: gzip``; 413 as soon as it passes ``limit``."""
    length = header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
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
        out = inflate.decompress(chunk, room + 1)
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
