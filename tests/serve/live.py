"""A real replica process and a real router (uvicorn on loopback) for tests that need sockets."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.serve.conftest import FEATURES, SIGNATURE, fitted


def model_folder(tmp: Path) -> Path:
    """A saved three-feature logistic regression."""
    from loopml import models

    folder = tmp / "model"
    if not folder.exists():
        models.save(fitted()[0], folder, signature=SIGNATURE)
    return folder


@contextmanager
def replica_set(tmp: Path, **server: Any) -> Iterator[Any]:
    """A :class:`ReplicaSet` with one real replica process started (stopped on exit)."""
    from loopml.serve._replicas import ReplicaSet

    spec = {"models": [{"name": "churn", "folder": str(model_folder(tmp)), "digest": "sha256:abc", "version": "1"}],
            "server": {"max_concurrency": 2, "max_queue": 8, **server}}
    replicas = ReplicaSet("churn-v1", spec, tmp)
    asyncio.run(replicas.start(timeout=120))
    try:
        yield replicas
    finally:
        for replica in replicas.replicas:
            replica.proc.kill()
            replica.proc.wait(30)


@contextmanager
def uvicorn_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread of this process; yields its base URL."""
    import uvicorn

    from loopml.serve._http import listening_socket

    sock = listening_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, http="httptools",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def router(replicas: Any, *, mode: str = "realtime", max_body: int = 6 * 2**20) -> Iterator[str]:
    """A :class:`Router` with one variant over ``replicas``, served on loopback; yields its URL."""
    from loopml.serve._router import Router, Variant

    app = Router(mode=mode, max_body=max_body, serverless_concurrency=10)
    app.variants.append(Variant("churn-v1", {"model": "churn:1", "columns": FEATURES}, replicas, 100.0))
    with uvicorn_thread(app) as url:
        yield url
