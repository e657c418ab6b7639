"""The replica process: load the model(s) from verified local folders and serve them over HTTP.

Run as ``python -m loopml.serve.replica SPEC.json``. The endpoint process writes the spec and starts the
replica with a credential-free environment. The replica binds ``host:port`` (0 picks a free port),
warms the model up with one inference, then writes ``{"port", "pid", "startup_seconds"}`` to the spec's
``ready_file`` so the parent knows it is serving.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

_T0 = time.monotonic()


def _warm_frame(model: Any) -> pd.DataFrame:
    sample = {"double": 0.0, "long": 0, "boolean": False, "string": ""}
    return pd.DataFrame({c.name: [c.categories[0] if c.categories else sample[c.kind]] for c in model.columns})


def build_app(spec: dict[str, Any]) -> Any:
    """The :class:`~loopml.serve.server.ModelServer` described by ``spec`` (models loaded and warmed up)."""
    from loopml.serve._model import load_folder
    from loopml.serve._spool import CaptureSpool
    from loopml.serve.metrics import ServerMetrics
    from loopml.serve.multimodel import ModelCache, Target
    from loopml.serve.server import ModelServer, ServerConfig

    metrics = ServerMetrics()
    config = ServerConfig(**spec.get("server", {}))
    capture = None
    if spec.get("capture", {}).get("percent", 0) > 0:
        capture = CaptureSpool(spec["capture"]["spool"], percent=float(spec["capture"]["percent"]),
                               on_write=metrics.capture_records.inc, on_drop=metrics.capture_dropped.inc)
    targets = [Target(**t) for t in spec["models"]]
    if spec.get("multi_model"):
        source: Any = ModelCache(targets, budget_bytes=int(spec.get("memory_budget", 512 * 2**20)),
                                 on_change=metrics.loaded_models.set)
    else:
        t = targets[0]
        source = load_folder(t.folder, name=t.name, digest=t.digest, version=t.version, output=config.output,
                             trust=t.trust)
        from loopml.serve._decode import v2_datatype

        source.extra["datatype"] = v2_datatype(source(_warm_frame(source)))  # OIP metadata states what infer gives
        metrics.loaded_models.set(1)
    return ModelServer(source, config=config, capture=capture, metrics=metrics)


def serve(spec: dict[str, Any]) -> None:
    """Load, bind, report readiness, and serve until SIGTERM (in-flight requests drain first)."""
    import uvicorn

    from loopml.models import limit_resources
    from loopml.serve._http import listening_socket

    limit_resources()  # before anything is deserialized
    app = build_app(spec)
    sock = listening_socket(spec.get("host", "127.0.0.1"), int(spec.get("port", 0)))
    startup = time.monotonic() - _T0
    app.metrics.startup.set(startup)
    config = uvicorn.Config(app, log_level=spec.get("log_level", "warning"), access_log=False,
                            http="httptools", loop="auto", lifespan="on", timeout_keep_alive=30, proxy_headers=False,
                            timeout_graceful_shutdown=int(spec.get("drain_seconds", 30)))
    server = uvicorn.Server(config)
    ready = Path(spec["ready_file"]) if spec.get("ready_file") else None
    if ready is not None:
        tmp = ready.with_suffix(".tmp")
        tmp.write_text(json.dumps({"port": sock.getsockname()[1], "pid": os.getpid(), "startup_seconds": startup}))
        os.replace(tmp, ready)
    _watch_parent(server, int(spec.get("parent_pid") or 0))
    server.run(sockets=[sock])


def _watch_parent(server: Any, parent: int) -> None:
    """Exit (after draining) when the endpoint process that started us is gone (or a zombie).

    The endpoint process is watched by pid and start time, not through our parent: a replica forked from
    the zygote has the zygote as its parent, and the zygote lives as long as any of its children do."""
    import threading

    import psutil

    def watch() -> None:
        try:
            endpoint = psutil.Process(parent)
            while endpoint.is_running() and endpoint.status() != psutil.STATUS_ZOMBIE:
                time.sleep(0.5)
        except psutil.Error:
            pass
        server.should_exit = True

    if parent:
        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python -m loopml.serve.replica SPEC.json``."""
    args = argv if argv is not None else sys.argv[1:]
    serve(json.loads(Path(args[0]).read_text()))


if __name__ == "__main__":
    main()
