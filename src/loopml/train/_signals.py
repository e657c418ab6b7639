"""Graceful interruption inside a job: SIGTERM raises :class:`JobInterrupted` outside critical sections."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any

INTERRUPTED_EXIT = 75
"""The exit code of a job that saved a checkpoint and stopped because it was asked to (EX_TEMPFAIL)."""

_state = {"pending": False, "critical": 0}


class JobInterrupted(BaseException):
    """Raised in the job when SIGTERM arrives (a BaseException so user ``except Exception`` lets it by)."""


def _handler(signum: int, frame: Any) -> None:
    _state["pending"] = True
    if not _state["critical"]:
        raise JobInterrupted(f"signal {signum}")


def install() -> None:
    """Turn SIGTERM into :class:`JobInterrupted` in this process."""
    signal.signal(signal.SIGTERM, _handler)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """Defer an interruption until the block (a checkpoint write) is done."""
    _state["critical"] += 1
    try:
        yield
    finally:
        _state["critical"] -= 1
    if not _state["critical"] and _state["pending"]:
        raise JobInterrupted("deferred SIGTERM")
