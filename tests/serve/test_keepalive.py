"""Kept-alive clients (RELIABILITY case 47): a request on a reused connection costs what one on a fresh
connection does — no Nagle / delayed-ACK stall (about 40 ms) between the response's head and body.

Each measure is compared with the same request on a fresh connection in the same run, so a busy machine
slows both sides alike; the stall this guards against is a fixed ~40 ms on every kept-alive request.
"""

from __future__ import annotations

import json
import socket
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

SLACK = 0.015  # seconds: far below the 40 ms delayed-ACK stall, far above scheduling noise
ROW = json.dumps([{"a": 0.5, "b": -1.0, "c": 2.0}]).encode()


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), head
    return body


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as curl and every HTTP client do
    return sock


def _ping_times(url: str, n: int, *, reuse: bool) -> list[float]:
    request = f"GET /ping HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n\r\n".encode()
    times, sock = [], _connect(url) if reuse else None
    try:
        for _ in range(n):
            started = time.perf_counter()
            conn = sock or _connect(url)
            conn.sendall(request)
            _read_response(conn)
            if sock is None:
                conn.close()
            times.append(time.perf_counter() - started)
    finally:
        if sock is not None:
            sock.close()
    return times


def _post_times(url: str, n: int, *, reuse: bool) -> list[float]:
    times = []
    with httpx.Client(headers={"content-type": "application/json"}, timeout=30) as client:
        for _ in range(n):
            started = time.perf_counter()
            resp = client.post(url + "/invocations", content=ROW) if reuse else \
                httpx.post(url + "/invocations", content=ROW, headers={"content-type": "application/json"},
                           timeout=30)
            assert resp.status_code == 200, resp.text
            times.append(time.perf_counter() - started)
    return times


@pytest.mark.slow
@pytest.mark.parametrize("hop", ["replica", "router"])
@pytest.mark.parametrize("measure", [_ping_times, _post_times], ids=["GET /ping", "POST /invocations"])
def test_a_kept_alive_request_costs_what_a_fresh_one_does(live: Any, hop: str, measure: Any) -> None:
    url = live[0] if hop == "replica" else live[1]
    measure(url, 5, reuse=True)  # warm up both paths
    fresh = statistics.median(measure(url, 25, reuse=False))
    kept = statistics.median(measure(url, 25, reuse=True))
    assert kept <= fresh + SLACK, f"kept-alive p50 {kept * 1000:.1f} ms vs fresh connection {fresh * 1000:.1f} ms"
