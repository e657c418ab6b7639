"""Control-plane latency over a real ``uvicorn`` server on loopback: token check + policy lookup + one stage
call per request. Four concurrent clients for a fixed number of requests per route. Prints one JSON line.

Routes: ``GET /api/v1/me`` (auth only), ``GET /api/v1/models/churn/versions/1`` (one registry read),
``GET /api/v1/audit?limit=50`` (a page of the audit log), and an unauthenticated request (401).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

N = 400
CLIENTS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _setup() -> str:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from loopml import registry
    from loopml.core import context, identity, tokens

    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
    registry.register(LogisticRegression().fit(frame, frame["a"] > 20), "churn", metrics={"auc": 0.8})
    with context.get_db().write() as conn:
        identity.grant(conn, "alice", "admin", actor="alice")
        return tokens.create(conn, "alice", actor="alice")[0]


def _measure(base: str, path: str, headers: dict[str, str]) -> dict[str, float]:
    import httpx

    with httpx.Client(base_url=base, headers=headers) as client:
        def one(_: int) -> float:
            start = time.perf_counter()
            client.get(path)
            return (time.perf_counter() - start) * 1000

        for _ in range(20):
            one(0)
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            times = sorted(pool.map(one, range(N)))
        elapsed = time.perf_counter() - started
    return {"rps": round(N / elapsed, 1), "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[int(len(times) * 0.99) - 1], 2)}


def main() -> None:
    import httpx

    os.environ["LOOPML_HOME"] = tempfile.mkdtemp(prefix="loopml-bench-api-")
    os.environ["LOOPML_USER"] = "alice"
    secret = _setup()
    port = _free_port()
    code = f"from loopml.api import serve; serve('127.0.0.1', {port}, log_level='warning')"
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        auth = {"Authorization": f"Bearer {secret}"}
        result = {
            "bench": "api_latency", "requests_per_route": N, "clients": CLIENTS,
            "me": _measure(base, "/api/v1/me", auth),
            "model_version": _measure(base, "/api/v1/models/churn/versions/1", auth),
            "audit_page": _measure(base, "/api/v1/audit?limit=50", auth),
            "unauthenticated_401": _measure(base, "/api/v1/me", {}),
        }
    finally:
        proc.terminate()
        proc.wait(15)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
