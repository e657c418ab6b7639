"""Which node of the cluster runs each piece of loopml work: steps, jobs, trials, shards, replicas.

A task on a node writes a ``cluster_work`` row when it starts and closes it when it ends, so
``loopml cluster status`` can say what runs where and a run can say which node did what. The rows are a
record for people; no decision of loopml depends on them, so a failed write never fails the work.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from loopml.core import clock, context, ids
from loopml.core._tables import cluster_work

logger = logging.getLogger("loopml.cluster")


@dataclass(frozen=True)
class Work:
    """One piece of work on one node (read-only)."""

    kind: str
    ref: str
    node_id: str
    node_ip: str
    pid: int
    status: str
    started_at: datetime
    ended_at: datetime | None


def _write(statement: Any) -> None:
    try:
        with context.get_db().write() as conn:
            conn.execute(statement)
    except Exception as exc:  # noqa: BLE001 - a lost record line must not fail the work it describes
        logger.warning("could not record cluster work: %s", type(exc).__name__)


@contextlib.contextmanager
def running(kind: str, ref: str, *, node: dict[str, str]) -> Iterator[None]:
    """Record ``kind`` work named ``ref`` as running on ``node`` for the duration of the block."""
    row_id = ids.new_id("cw")
    _write(cluster_work.insert().values(id=row_id, kind=kind, ref=ref[:400], node_id=node["node_id"],
                                        node_ip=node["node_ip"], pid=os.getpid(), status="RUNNING",
                                        started_at=clock.now()))
    status = "FAILED"
    try:
        yield
        status = "DONE"
    finally:
        _write(cluster_work.update().where(cluster_work.c.id == row_id).values(status=status, ended_at=clock.now()))


def _row(row: Any) -> Work:
    return Work(kind=row.kind, ref=row.ref, node_id=row.node_id, node_ip=row.node_ip, pid=row.pid, status=row.status,
                started_at=clock.as_utc(row.started_at),
                ended_at=clock.as_utc(row.ended_at) if row.ended_at else None)


def list_work(*, prefix: str | None = None, running_only: bool = False, limit: int = 500) -> list[Work]:
    """Work records, oldest first: all, those whose ``ref`` starts with ``prefix``, or only the running ones."""
    query = sa.select(cluster_work).order_by(cluster_work.c.started_at).limit(limit)
    if prefix:
        query = query.where(cluster_work.c.ref.startswith(prefix, autoescape=True))
    if running_only:
        query = query.where(cluster_work.c.status == "RUNNING")
    with context.get_db().read() as conn:
        return [_row(r) for r in conn.execute(query)]


def cluster_status() -> dict[str, Any]:
    """The cluster's address, Ray version and alive nodes with their resources and the loopml work running
    on each; work recorded as running on a node that is gone is listed under ``lost``."""
    from loopml.core import cluster

    ray = cluster.connect()
    alive = cluster.nodes()
    running = list_work(running_only=True)
    by_node: dict[str, list[dict[str, Any]]] = {n.id: [] for n in alive}
    lost: list[dict[str, Any]] = []
    for item in running:
        entry = {"kind": item.kind, "ref": item.ref, "pid": item.pid, "started_at": item.started_at}
        (by_node[item.node_id] if item.node_id in by_node else lost).append({**entry, "node_ip": item.node_ip})
    nodes = [{"id": n.id, "address": n.address, "head": n.is_head, "resources": n.resources,
              "work": by_node[n.id]} for n in alive]
    return {"address": cluster.address(), "ray_version": ray.__version__, "nodes": nodes, "lost": lost}
