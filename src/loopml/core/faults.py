"""Deterministic fault-injection points for crash and disk-full tests.

Arm points with ``LOOPML_FAULTS``, a comma-separated list of ``name:action[@n]``:

* ``kill``   — SIGKILL this process (a real crash: no cleanup, no atexit);
* ``raise``  — raise ``OSError(ENOSPC)``;
* ``timeout``— raise ``TimeoutError`` (a remote call that timed out after the server acted);
* ``sleep``  — sleep ``LOOPML_FAULT_SLEEP`` seconds (default 30);
* ``pause``  — create ``$LOOPML_FAULT_GATE.reached``, then wait until the file ``$LOOPML_FAULT_GATE`` exists
  (at most 10 minutes): a test holds a process exactly there, acts, and lets it go;
* ``@n``     — fire on the n-th time the point is reached (default the first).

Example: ``LOOPML_FAULTS="after_blob_write:kill,before_db_commit:kill@3"``.
Unarmed points cost one dictionary lookup.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from collections import Counter

_hits: Counter[str] = Counter()
_armed: dict[str, tuple[str, int]] | None = None


def _parse(spec: str) -> dict[str, tuple[str, int]]:
    armed: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition(":")
        action, _, nth = action.partition("@")
        armed[name] = (action or "kill", int(nth or 1))
    return armed


def reset() -> None:
    """Re-read ``LOOPML_FAULTS`` and zero the hit counters (tests call this)."""
    global _armed
    _armed = None
    _hits.clear()


def point(name: str) -> None:
    """Mark a place where a test may inject a fault; does nothing unless armed."""
    global _armed
    if _armed is None:
        _armed = _parse(os.environ.get("LOOPML_FAULTS", ""))
    if name not in _armed:
        return
    _hits[name] += 1
    action, nth = _armed[name]
    if _hits[name] != nth:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "raise":
        raise OSError(errno.ENOSPC, f"injected fault at {name}: no space left on device")
    elif action == "timeout":
        raise TimeoutError(f"injected fault at {name}: the request timed out")
    elif action == "sleep":
        time.sleep(float(os.environ.get("LOOPML_FAULT_SLEEP", "30")))
    elif action == "pause":
        _pause(os.environ["LOOPML_FAULT_GATE"])


def _pause(gate: str) -> None:
    with open(f"{gate}.reached", "w"):
        pass
    deadline = time.monotonic() + 600
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
