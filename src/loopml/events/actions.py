"""What a rule can do when an event matches: start a pipeline, call a webhook, write a log line.

Action specs are JSON objects with a ``type``:

* ``{"type": "pipeline", "pipeline": "MODULE:NAME", "params": {...}, "executor": "inline"|"local",
  "wait": false}`` runs a ``@pipeline`` (retraining). With ``wait`` false (the default) it runs in a
  detached ``python -m loopml.events.launch`` process so the scheduler keeps ticking; the action row is
  updated with the execution id when it ends. Parameter values written ``"$.detail.alarm"`` are taken
  from the event.
* ``{"type": "webhook", "url": "https://…", "headers": {...}}`` POSTs the event as JSON (no redirects;
  the URL is checked when the rule is created and again just before sending).
* ``{"type": "deploy", "endpoint": "churn", "model": "$.detail.model", "strategy": "all_at_once"}`` rolls a
  running endpoint over blue/green to an approved model version (``loopml.serve.update``; only Approved
  versions deploy), e.g. on a ``Model Version State Change`` event whose state is ``Approved``.
* ``{"type": "log", "message": "…", "level": "warning"}`` writes a line to ``$LOOPML_HOME/logs/events.log``
  and the ``loopml.events`` logger.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

import httpx

from loopml.core import clock, context
from loopml.core.net import check_url
from loopml.errors import ValidationError
from loopml.events.bus import Event

logger = logging.getLogger("loopml.events")
KINDS = ("pipeline", "webhook", "deploy", "log")
_LEVELS = ("debug", "info", "warning", "error")


def check_action(spec: Any) -> dict[str, Any]:
    """Validate one action spec (webhook URLs are resolved and checked now); returns it."""
    if not isinstance(spec, dict) or spec.get("type") not in KINDS:
        raise ValidationError(
            f"action {spec!r} needs a 'type' of {list(KINDS)}; e.g. "
            '{"type": "pipeline", "pipeline": "examples.churn:retrain", "params": {}}')
    kind = spec["type"]
    if kind == "pipeline" and not isinstance(spec.get("pipeline"), str):
        raise ValidationError("a pipeline action needs 'pipeline': a 'MODULE:NAME' or 'file.py:NAME' reference")
    if kind == "pipeline" and spec.get("executor", "inline") not in ("inline", "local"):
        raise ValidationError(f"pipeline action executor {spec.get('executor')!r} is not 'inline' or 'local'")
    if kind == "webhook":
        check_url(str(spec.get("url", "")))
    if kind == "deploy" and not (isinstance(spec.get("endpoint"), str) and isinstance(spec.get("model"), str)):
        raise ValidationError("a deploy action needs 'endpoint' and 'model' (e.g. 'churn@approved' or '$.detail.model')")
    if kind == "log" and spec.get("level", "info") not in _LEVELS:
        raise ValidationError(f"log action level {spec.get('level')!r} is not one of {list(_LEVELS)}")
    return spec


def perform(spec: dict[str, Any], event: Event, *, action_id: str) -> tuple[str, dict[str, Any]]:
    """Carry out one action for ``event``; returns ``(status, result)`` with status STARTED/SUCCEEDED/FAILED."""
    kind = spec["type"]
    try:
        if kind == "pipeline":
            return _pipeline(spec, event, action_id)
        if kind == "webhook":
            return _webhook(spec, event)
        if kind == "deploy":
            return _deploy(spec, event)
        return _log(spec, event)
    except Exception as exc:  # an action failure is recorded, never lost and never fatal to the bus
        logger.warning("action %s (%s) for event %s failed: %s", action_id, kind, event.id, exc)
        return "FAILED", {"error": f"{type(exc).__name__}: {exc}"}


def resolve_params(params: dict[str, Any], event: Event) -> dict[str, Any]:
    """Replace ``"$.a.b"`` values with the event document's field ``a.b`` (None when absent)."""
    doc = event.to_dict()
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("$."):
            node: Any = doc
            for part in value[2:].split("."):
                node = node.get(part) if isinstance(node, dict) else None
            value = node
        out[key] = value
    return out


def run_pipeline(spec: dict[str, Any], event: Event) -> dict[str, Any]:
    """Run the pipeline of a pipeline action now, in this process; returns execution id and status."""
    from loopml import pipelines

    params = resolve_params(dict(spec.get("params") or {}), event)
    info = pipelines.run(spec["pipeline"], params=params, executor=spec.get("executor", "inline"))
    return {"execution_id": info.id, "execution_status": info.status, "params": params}


def _pipeline(spec: dict[str, Any], event: Event, action_id: str) -> tuple[str, dict[str, Any]]:
    if spec.get("wait", False):
        result = run_pipeline(spec, event)
        return ("SUCCEEDED" if result["execution_status"] == "SUCCEEDED" else "FAILED"), result
    log = _log_dir() / f"action-{action_id}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "loopml.events.launch", action_id],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=os.environ.copy())
    return "STARTED", {"pid": proc.pid, "log": str(log)}


def _webhook(spec: dict[str, Any], event: Event) -> tuple[str, dict[str, Any]]:
    url = str(spec["url"])
    addresses = check_url(url)  # re-checked at send time (DNS may have changed)
    headers = {"content-type": "application/json", **{str(k): str(v) for k, v in (spec.get("headers") or {}).items()}}
    url = _pinned(url, addresses[0], headers)
    response = httpx.post(url, content=json.dumps(event.to_dict()), headers=headers,
                          timeout=float(spec.get("timeout", 5.0)), follow_redirects=False)
    status = "SUCCEEDED" if response.status_code < 300 else "FAILED"
    return status, {"status_code": response.status_code}


def _pinned(url: str, address: str, headers: dict[str, str]) -> str:
    """For plain http, connect to the address just checked (no second DNS lookup to rebind)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        return url  # https keeps the name for certificate checks
    headers.setdefault("host", parts.netloc)
    host = f"[{address}]" if ":" in address else address
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


def _deploy(spec: dict[str, Any], event: Event) -> tuple[str, dict[str, Any]]:
    from loopml import serve

    target = resolve_params({"model": spec["model"]}, event)["model"]
    if not target:
        return "FAILED", {"error": f"the event has no value for {spec['model']!r}"}
    record = serve.update(spec["endpoint"], str(target), strategy=spec.get("strategy", "all_at_once"),
                          wait=bool(spec.get("wait", True)), timeout=float(spec.get("timeout", 300)))
    state = str(record.get("state", ""))
    return ("SUCCEEDED" if state in ("Completed", "Requested", "InProgress") else "FAILED"), {
        "endpoint": spec["endpoint"], "model": target, "deployment": record}


def _log(spec: dict[str, Any], event: Event) -> tuple[str, dict[str, Any]]:
    message = str(spec.get("message", "event"))
    line = json.dumps({"time": clock.now().isoformat(), "level": spec.get("level", "info"), "message": message,
                       "event": event.id, "detail-type": event.detail_type, "resource": event.resource})
    path = _log_dir() / "events.log"
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    logger.log(getattr(logging, str(spec.get("level", "info")).upper()), "%s (event %s)", message, event.id)
    return "SUCCEEDED", {"log": str(path)}


def _log_dir() -> Any:
    folder = context.get_settings().home / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
