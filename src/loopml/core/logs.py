"""Logging: a logger per stage (``loopml.<stage>``) and the key events as one structured line each.

A key event (a step or a job starting and ending, a deployment, a rollback, a monitor violation, blobs
deleted by gc…) is one line: its name, then ``key=value`` fields (values JSON-quoted when they hold spaces)::

    2026-12-03 08:12:01,532 INFO loopml.pipelines step.end execution=pe_3f2a step=train status=SUCCEEDED seconds=1.42

Library code only logs. Processes loopml runs (the CLI, and through it the server, the scheduler and the
workers it starts) call :func:`configure`, which writes the ``loopml.*`` lines at ``LOOPML_LOG_LEVEL``
(default ``WARNING``, so the key events, logged at ``INFO``, stay quiet until asked for) to stderr.

Example:
    >>> format_event("step.end", {"step": "train", "status": "SUCCEEDED", "note": "two words"})
    'step.end step=train status=SUCCEEDED note="two words"'
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from loopml.config import get_settings

ROOT = "loopml"
_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def stage_logger(stage: str) -> logging.Logger:
    """The logger of a stage: ``loopml.<stage>`` (``pipelines``, ``train``, ``serve``, ``monitor``…)."""
    return logging.getLogger(f"{ROOT}.{stage}")


def format_event(event: str, fields: dict[str, Any]) -> str:
    """``event key=value …`` on one line (a value with spaces, quotes or ``=`` is JSON-quoted)."""
    return " ".join([event, *(f"{key}={_value(value)}" for key, value in fields.items())])


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text)
    return text


def log_event(logger: logging.Logger, event: str, /, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one key event as one line; the fields also travel on the record (``record.fields``)."""
    if logger.isEnabledFor(level):
        logger.log(level, "%s", format_event(event, fields), extra={"event": event, "fields": fields})


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (not the stream of the first call: the CLI
    run in-process by tests and notebooks replaces ``sys.stderr`` between commands)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure(level: str | None = None) -> None:
    """Write the ``loopml.*`` loggers' lines to stderr at ``level`` (default: ``LOOPML_LOG_LEVEL``).

    Calling it again only changes the level; it never adds a second handler.
    """
    logger = logging.getLogger(ROOT)
    logger.setLevel(level or get_settings().log_level)
    if not any(getattr(h, "_loopml", False) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._loopml = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
