"""Long work requested over HTTP runs in a detached worker process acting as the caller.

The request returns at once (202); the worker calls one stage function with ``LOOPML_USER`` set to the
authenticated user, so the stage's own role checks and the audit log name who asked. Only the fixed verbs
of :data:`VERBS` exist, and their arguments travel as one JSON document: no command, path or module from
the client ever reaches the worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from loopml.core import context, ids
from loopml.errors import ValidationError

VERBS = frozenset({"resume", "run", "endpoint.create", "endpoint.update", "endpoint.rollback", "endpoint.delete"})


@dataclass(frozen=True)
class Job:
    """A started worker: its id, verb, pid and log file (under ``LOOPML_HOME/logs``)."""

    id: str
    verb: str
    pid: int
    log: str


def start(verb: str, args: dict[str, Any], *, user: str) -> Job:
    """Start ``python -m loopml.api._worker VERB ARGS_JSON`` as ``user``."""
    if verb not in VERBS:
        raise ValidationError(f"unknown job {verb!r}; jobs are {sorted(VERBS)}")
    job_id = ids.new_id("job")
    logs = context.get_settings().home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{job_id}.log"
    env = {**os.environ, "LOOPML_USER": user}
    with open(log, "ab") as out:
        proc = subprocess.Popen(  # noqa: S603  (fixed argv, JSON arguments)
            [sys.executable, "-m", "loopml.api._worker", verb, json.dumps(args)], env=env, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return Job(job_id, verb, proc.pid, log.name)
