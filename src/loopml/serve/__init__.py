"""Serving: the model server, endpoints (real-time, serverless, async), batch transform, multi-model,
blue/green rollouts and data capture.

A *replica* is one process serving a model over the SageMaker container contract (``/ping``,
``/invocations``) and the Open Inference Protocol v2. An *endpoint* is a managed local process that
routes traffic to replicas of one or more variants, with its state in the metadata store. Only Approved
model versions deploy (an admin may override, audited).

Names are loaded lazily, so a replica process imports only the server, not the control plane.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "decode_request": "_decode", "ServedModel": "_model", "from_estimator": "_model", "load_folder": "_model", "sandbox_env": "_model",
    "Endpoint": "_records", "Column": "_signature", "check_frame": "_signature", "parse_signature": "_signature",
    "ModelServer": "server", "ServerConfig": "server",
    **dict.fromkeys(("create", "delete", "describe", "flush_capture", "get", "invoke", "list_endpoints", "logs",
                     "rollback", "start_all", "start_endpoint", "stop_endpoint", "update"), "endpoints"),
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'loopml.serve' has no attribute {name!r}")
    return getattr(importlib.import_module(f"loopml.serve.{_NAMES[name]}"), name)


def __dir__() -> list[str]:
    return __all__
