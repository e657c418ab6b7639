"""Send a request target to the ASGI app byte for byte, as uvicorn would pass it (no client-side
normalisation of ``..``, ``#`` or percent-escapes, which httpx would apply)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio


@dataclass
class RawResponse:
    status_code: int
    text: str
    target: str


def raw_request(app: Any, method: str, target: str, *, headers: dict[str, str], body: Any = None) -> RawResponse:
    path, _, query = target.partition("?")
    data = json.dumps(body).encode() if body is not None else b""
    head = [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode()) for k, v in headers.items())]
    if data:
        head += [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": unquote(path), "raw_path": path.encode("latin-1", "replace"), "query_string": query.encode(),
             "root_path": "", "headers": head, "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80)}
    status, chunks, sent = [0], [], [False]

    async def receive() -> dict[str, Any]:
        if sent[0]:
            return {"type": "http.disconnect"}
        sent[0] = True
        return {"type": "http.request", "body": data, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    anyio.run(app, scope, receive, send)
    return RawResponse(status[0], b"".join(chunks).decode("utf-8", "replace"), target)
