"""Reading and writing pipeline records; the SQL of the pipeline engine lives here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock, ids
from loopml.errors import NotFoundError
from loopml.pipelines._tables import executions, pipelines, step_executions

DONE = frozenset({"SUCCEEDED", "CACHED"})
TERMINAL = DONE | {"SKIPPED", "FAILED"}


@dataclass(frozen=True)
class StepInfo:
    """One step of an execution, as recorded."""

    step: str
    status: str
    cache_hit: bool
    attempts: int
    code_hash: str
    inputs: dict[str, Any]
    output_digest: str | None
    output_media_type: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: float | None
    error: str | None
    logs: str | None
    upstream: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExecutionInfo:
    """A pipeline execution with its steps (a read-only view)."""

    id: str
    name: str
    status: str
    params: dict[str, Any]
    code: dict[str, Any]
    definition_hash: str
    created_by: str
    started_at: datetime
    ended_at: datetime | None
    error: str | None
    resume_count: int
    steps: list[StepInfo]

    def step(self, name: str) -> StepInfo:
        for info in self.steps:
            if info.step == name:
                return info
        raise NotFoundError(f"execution {self.id} has no step {name!r}; steps: {[s.step for s in self.steps]}")

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    def _repr_html_(self) -> str:
        from loopml.core.fragments import notebook
        from loopml.pipelines.html import render_execution

        return notebook(render_execution(self))


def upsert_pipeline(conn: Connection, name: str, ref: str, definition_hash: str, definition: dict[str, Any]) -> str:
    row = conn.execute(
        sa.select(pipelines.c.id).where(pipelines.c.name == name, pipelines.c.definition_hash == definition_hash)
    ).first()
    if row:
        return str(row.id)
    pid = ids.new_id("pl")
    conn.execute(pipelines.insert().values(
        id=pid, name=name, ref=ref, definition_hash=definition_hash, definition=definition, created_at=clock.now()))
    return pid


def create_execution(conn: Connection, *, pipeline_id: str, name: str, params: dict[str, Any], code: dict[str, Any],
                     user: str, steps: dict[str, str], cache: bool) -> str:
    eid = ids.new_id("pe")
    conn.execute(executions.insert().values(
        id=eid, pipeline_id=pipeline_id, name=name, status="RUNNING", params=params, code=code,
        created_by=user, started_at=clock.now(), resume_count=0, cache=cache))
    conn.execute(step_executions.insert(), [
        {"id": ids.new_id("se"), "execution_id": eid, "step": step, "status": "PENDING", "code_hash": code_hash,
         "inputs": {}, "attempts": 0, "cache_hit": False}
        for step, code_hash in steps.items()
    ])
    return eid


def set_step(conn: Connection, execution_id: str, step: str, **values: Any) -> None:
    conn.execute(step_executions.update()
                 .where(step_executions.c.execution_id == execution_id, step_executions.c.step == step)
                 .values(**values))


def set_execution(conn: Connection, execution_id: str, **values: Any) -> None:
    conn.execute(executions.update().where(executions.c.id == execution_id).values(**values))


def find_cached(conn: Connection, cache_key: str) -> tuple[str, str] | None:
    row = conn.execute(
        sa.select(step_executions.c.output_digest, step_executions.c.output_media_type)
        .where(step_executions.c.cache_key == cache_key, step_executions.c.status.in_(DONE),
               step_executions.c.output_digest.is_not(None))
        .limit(1)
    ).first()
    return (row.output_digest, row.output_media_type) if row else None


def _step_info(row: Any, upstream: list[str]) -> StepInfo:
    return StepInfo(row.step, row.status, bool(row.cache_hit), row.attempts, row.code_hash, row.inputs or {},
                    row.output_digest, row.output_media_type, row.started_at, row.ended_at, row.duration_ms,
                    row.error, row.logs, upstream)


def get_execution(conn: Connection, execution_id: str) -> ExecutionInfo:
    row = conn.execute(
        sa.select(executions, pipelines.c.definition_hash, pipelines.c.definition)
        .join(pipelines, pipelines.c.id == executions.c.pipeline_id)
        .where(executions.c.id == execution_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no pipeline execution {execution_id!r}; 'loopml pipeline list' shows them",
                            execution_id=execution_id)
    nodes = row.definition.get("steps", {})
    order = list(nodes)
    step_rows = list(conn.execute(sa.select(step_executions).where(step_executions.c.execution_id == execution_id)))
    step_rows.sort(key=lambda r: order.index(r.step) if r.step in order else len(order))
    steps = [_step_info(r, nodes.get(r.step, {}).get("upstream", [])) for r in step_rows]
    return ExecutionInfo(row.id, row.name, row.status, row.params, row.code, row.definition_hash,
                         row.created_by, row.started_at, row.ended_at, row.error, row.resume_count, steps)


def execution_ref(conn: Connection, execution_id: str) -> tuple[str, dict[str, Any], dict[str, Any], bool]:
    row = conn.execute(
        sa.select(pipelines.c.ref, pipelines.c.definition, executions.c.params, executions.c.cache)
        .join(pipelines, pipelines.c.id == executions.c.pipeline_id).where(executions.c.id == execution_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no pipeline execution {execution_id!r}; 'loopml pipeline list' shows them")
    return row.ref, row.definition, row.params, bool(row.cache)


def list_executions(conn: Connection, *, name: str | None = None, status: str | None = None,
                    limit: int = 50, offset: int = 0, newest_first: bool = True) -> list[dict[str, Any]]:
    query = sa.select(executions.c.id, executions.c.name, executions.c.status, executions.c.started_at,
                      executions.c.ended_at, executions.c.created_by, executions.c.error)
    if name:
        query = query.where(executions.c.name == name)
    if status:
        query = query.where(executions.c.status == status)
    order = (executions.c.started_at.desc(), executions.c.id.desc()) if newest_first else \
        (executions.c.started_at, executions.c.id)
    rows = conn.execute(query.order_by(*order).limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows]


def running_execution_ids(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(executions.c.id).where(executions.c.status == "RUNNING")).scalars())


def known_pipelines(conn: Connection) -> list[dict[str, Any]]:
    """Every pipeline the platform has run: name, newest reference and definition, executions, last start."""
    rows = conn.execute(
        sa.select(pipelines.c.name, pipelines.c.ref, pipelines.c.definition_hash, pipelines.c.created_at)
        .order_by(pipelines.c.name, pipelines.c.created_at.desc())).all()
    counts: dict[str, int] = dict(conn.execute(sa.select(executions.c.name, sa.func.count())
                                              .group_by(executions.c.name)).tuples().all())
    last = dict(conn.execute(sa.select(executions.c.name, sa.func.max(executions.c.started_at))
                             .group_by(executions.c.name)).all())
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(row.name, {"name": row.name, "ref": row.ref, "definition_hash": row.definition_hash,
                                    "executions": counts.get(row.name, 0), "last_started_at": last.get(row.name)})
    return list(found.values())
