"""What a rule can do when an event matches: start a pipeline, call a webhook, write a log line.

Action specs are JSON objects with a ``type``:

* ``{"type": "pipeline", "pipeline": "MODULE:NAME", "params": {...}, "executor": "inline"|"local"|"ray",
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

Each kind is a class keeping the small :class:`EventAction` protocol (``check`` the spec, ``perform`` it
for an event), listed in one lazy table, :data:`ACTIONS`; every kind passes
:mod:`loopml.testing.event_action_contract`.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from importlib import import_module
from typing import Any, Protocol

from loopml.core import clock, context, logs
from loopml.core.bus import Event
from loopml.core.net import check_url, send_json
from loopml.errors import ValidationError

logger = logging.getLogger("loopml.events")
ACTIONS: dict[str, str] = {
    "pipeline": "loopml.events.actions:PipelineAction",
    "webhook": "loopml.events.actions:WebhookAction",
    "deploy": "loopml.events.actions:DeployAction",
    "log": "loopml.events.actions:LogAction",
}
"""Action kinds by ``type``: module paths as data, imported only when a rule uses them."""
KINDS = tuple(ACTIONS)
_LEVELS = ("debug", "info", "warning", "error")


class EventAction(Protocol):
    """One kind of action. ``check`` raises :class:`~loopml.errors.ValidationError` naming what a spec
    lacks (it runs when the rule is created); ``perform`` carries the spec out for one event and returns
    ``(status, result)``, status ``STARTED``, ``SUCCEEDED`` or ``FAILED`` and a JSON-safe result. A failure
    may raise: :func:`perform` records it as ``FAILED`` with the error, never losing the event."""

    def check(self, spec: dict[str, Any]) -> None: ...

    def perform(self, spec: dict[str, Any], event: Event, *, action_id: str) -> tuple[str, dict[str, Any]]: ...


def action_kind(kind: str) -> EventAction:
    """The implementation of action ``kind`` (a row of :data:`ACTIONS`)."""
    module, _, cls = ACTIONS[kind].partition(":")
    return getattr(import_module(module), cls)()  # type: ignore[no-any-return]


def check_action(spec: Any) -> dict[str, Any]:
    """Validate one action spec (webhook URLs are resolved and checked now); returns it."""
    if not isinstance(spec, dict) or spec.get("type") not in KINDS:
        raise ValidationError(
            f"action {spec!r} needs a 'type' of {list(KINDS)}; e.g. "
            '{"type": "pipeline", "pipeline": "examples.churn:retrain", "params": {}}')
    action_kind(spec["type"]).check(spec)
    return spec


def perform(spec: dict[str, Any], event: Event, *, action_id: str) -> tuple[str, dict[str, Any]]:
    """Carry out one action for ``event``; returns ``(status, result)`` with status STARTED/SUCCEEDED/FAILED."""
    kind = spec["type"]
    logs.log_event(logger, "action.start", action=action_id, kind=kind, event=event.id, detail_type=event.detail_type)
    try:
        return action_kind(kind).perform(spec, event, action_id=action_id)
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


class PipelineAction:
    """Runs a ``@pipeline`` (retraining), detached unless ``wait``."""

    def check(self, spec: dict[str, Any]) -> None:
        if not isinstance(spec.get("pipeline"), str):
            raise ValidationError("a pipeline action needs 'pipeline': a 'MODULE:NAME' or 'file.py:NAME' reference")
        from loopml.pipelines.executors import check_executor

        check_executor(spec.get("executor", "inline"))

    def perform(self, spec: dict[str, Any], event: Event, *, action_id: str) -> tuple[str, dict[str, Any]]:
        return _pipeline(spec, event, action_id)


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


class WebhookAction:
    """POSTs the event as JSON to a public http(s) URL, checked at creation and again at send time."""

    def check(self, spec: dict[str, Any]) -> None:
        check_url(str(spec.get("url", "")))

    def perform(self, spec: dict[str, Any], event: Event, *, action_id: str) -> tuple[str, dict[str, Any]]:
        return _webhook(spec, event)


def _webhook(spec: dict[str, Any], event: Event) -> tuple[str, dict[str, Any]]:
    headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
    # resolved and checked again now, and sent to exactly the address checked (no DNS rebinding)
    code = send_json(str(spec["url"]), event.to_dict(), headers=headers, timeout=float(spec.get("timeout", 5.0)))
    return ("SUCCEEDED" if code < 300 else "FAILED"), {"status_code": code}


class DeployAction:
    """Rolls a running endpoint over to an approved model version (``loopml.serve.update``)."""

    def check(self, spec: dict[str, Any]) -> None:
        if not (isinstance(spec.get("endpoint"), str) and isinstance(spec.get("model"), str)):
            raise ValidationError("a deploy action needs 'endpoint' and 'model' (e.g. 'churn@approved' or "
                                  "'$.detail.model')")

    def perform(self, spec: dict[str, Any], event: Event, *, action_id: str) -> tuple[str, dict[str, Any]]:
        return _deploy(spec, event)


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


class LogAction:
    """Writes a JSON line to ``$LOOPML_HOME/logs/events.log`` and the ``loopml.events`` logger."""

    def check(self, spec: dict[str, Any]) -> None:
        if spec.get("level", "info") not in _LEVELS:
            raise ValidationError(f"log action level {spec.get('level')!r} is not one of {list(_LEVELS)}")

    def perform(self, spec: dict[str, Any], event: Event, *, action_id: str) -> tuple[str, dict[str, Any]]:
        return _log(spec, event)


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
