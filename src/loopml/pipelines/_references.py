"""The blobs the pipeline engine's records name (a reference provider for ``fsck`` and ``gc``)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core.references import FOLDER, JSON, UNKNOWN, Reference, mentions
from loopml.pipelines._tables import executions as _executions
from loopml.pipelines._tables import pipelines as _pipelines
from loopml.pipelines._tables import step_executions as _steps

_MODEL = "application/vnd.loopml.model"


def step_executions(conn: Connection) -> Iterator[Reference]:
    """Each step's output (a model is a folder; JSON outputs are followed) and the inputs it recorded."""
    c = _steps.c
    query = sa.select(c.execution_id, c.step, c.output_digest, c.output_media_type, c.inputs)
    for execution, step, digest, media_type, inputs in conn.execute(query):
        owner = f"pipeline execution {execution} step {step}"
        if digest:
            kind = FOLDER if media_type == _MODEL else JSON if media_type == "application/json" else UNKNOWN
            yield Reference(digest, f"{owner} output", kind)
        yield from mentions(inputs, owner)


def pipeline_executions(conn: Connection) -> Iterator[Reference]:
    """Digests an execution's parameters mention (a dataset or model passed by digest)."""
    for execution, params in conn.execute(sa.select(_executions.c.id, _executions.c.params)):
        yield from mentions(params, f"pipeline execution {execution}")


def pipelines(conn: Connection) -> Iterator[Reference]:
    """Digests a pipeline definition mentions (default parameter values)."""
    for name, definition in conn.execute(sa.select(_pipelines.c.name, _pipelines.c.definition)):
        yield from mentions(definition, f"pipeline {name}")
