"""The blobs the training stage's records name (a reference provider for ``fsck`` and ``gc``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core.references import BYTES, FOLDER, Reference, mentions, named
from loopml.train._tables import checkpoints as _checkpoints
from loopml.train._tables import runs as _runs


def runs(conn: Connection) -> Iterator[Reference]:
    """A run's model folder, output data folder, log, stored input channels, and any digest it mentions."""
    c = _runs.c
    query = sa.select(c.id, c.model_digest, c.logs_digest, c.inputs, c.outputs, c.spec, c.params, c.tags)
    for run_id, model, logs, inputs, outputs, spec, params, tags in conn.execute(query):
        owner = f"run {run_id}"
        data = outputs.get("output_data") if isinstance(outputs, dict) else None
        yield from named(owner, FOLDER, model=model)
        yield from named(owner, FOLDER, **{"output data": data if isinstance(data, str) else None})
        yield from named(owner, BYTES, log=logs)
        yield from _channels(inputs, owner)
        for value in (inputs, outputs, spec, params, tags):
            yield from mentions(value, owner)


def _channels(inputs: Any, owner: str) -> Iterator[Reference]:
    """Channels bound to a dataset or a DataFrame read their bytes from the store (a resume needs them)."""
    for name, info in (inputs or {}).items() if isinstance(inputs, dict) else ():
        if isinstance(info, dict) and info.get("type") in ("dataset", "dataframe") and info.get("sha256"):
            yield Reference(info["sha256"], f"{owner} input channel {name}", BYTES)


def checkpoints(conn: Connection) -> Iterator[Reference]:
    """Every checkpoint a run recorded (resume reads the newest that verifies)."""
    c = _checkpoints.c
    for run_id, step, digest in conn.execute(sa.select(c.run_id, c.step, c.digest)):
        yield Reference(digest, f"run {run_id} checkpoint step {step}", BYTES)
