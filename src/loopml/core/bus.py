"""The event bus: events are rows with a gap-free sequence number, emitted by any stage.

An event has a ``source`` (``loopml.monitor``), a ``detail_type`` (``Alarm State Change``), a
``resource`` (``alarm:churn-drift``) and a JSON ``detail``. Emitting one is a row insert, so it can join
the transaction of the change it reports. The bus lives in the core, beside the audit log, because the
stages that emit events (registry, evaluate, monitor) sit below the ones a rule acts on (pipelines,
serve): the rules that read the bus in sequence order live in :mod:`loopml.events`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import checks, clock, context, ids
from loopml.core._tables import events
from loopml.core.references import Reference, mentions
from loopml.errors import NotFoundError, ValidationError


@dataclass(frozen=True)
class Event:
    """One recorded event (read-only view).

    Attributes:
        id: ``ev_…``.
        seq: Position in the bus (1, 2, 3…); rules consume events in this order.
        source: Who emitted it, e.g. ``loopml.monitor``.
        detail_type: What happened, e.g. ``Alarm State Change``.
        resource: The object concerned, e.g. ``alarm:churn-drift``.
        detail: Event-specific JSON.
        created_by: The identity that emitted it.
        created_at: When (UTC).
    """

    id: str
    seq: int
    source: str
    detail_type: str
    resource: str
    detail: dict[str, Any]
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The EventBridge-shaped document patterns are matched against."""
        return {
            "id": self.id, "seq": self.seq, "source": self.source, "detail-type": self.detail_type,
            "resources": [self.resource], "time": self.created_at.isoformat(), "detail": self.detail,
        }


def emit(
    detail_type: str,
    *,
    source: str,
    resource: str,
    detail: dict[str, Any] | None = None,
    conn: Connection | None = None,
) -> Event:
    """Record an event; inside ``conn``'s write transaction when given, else in its own.

    Args:
        detail_type: What happened, e.g. ``"Alarm State Change"``.
        source: The emitter, e.g. ``"loopml.monitor"``.
        resource: The object concerned, e.g. ``"alarm:churn-drift"``.
        detail: JSON-ready details.
        conn: A connection from ``Database.write()`` to join.

    Returns:
        The recorded :class:`Event`.
    """
    if not detail_type or not source:
        raise ValidationError("an event needs a detail_type and a source, e.g. 'Alarm State Change', 'loopml.monitor'")
    if conn is None:
        with context.get_db().write() as own:
            return emit(detail_type, source=source, resource=resource, detail=detail, conn=own)
    seq = (conn.execute(sa.select(sa.func.max(events.c.seq))).scalar() or 0) + 1
    event = Event(ids.new_id("ev"), seq, source, detail_type, resource, dict(detail or {}),
                  context.current_user(), clock.now())
    conn.execute(events.insert().values(
        id=event.id, seq=seq, source=source, detail_type=detail_type, resource=resource, detail=event.detail,
        created_by=event.created_by, created_at=event.created_at))
    return event


def list_events(*, after: int = 0, limit: int = 100, detail_type: str | None = None) -> list[Event]:
    """Events with ``seq > after``, oldest first."""
    after, (limit, _) = checks.integer(after, "after", low=0), checks.page(limit)
    query = sa.select(events).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
    if detail_type:
        query = query.where(events.c.detail_type == detail_type)
    with context.get_db().read() as conn:
        return [row_to_event(r) for r in conn.execute(query)]


def get_event(event_id: str) -> Event:
    """One event by id (raises ``NotFoundError``)."""
    with context.get_db().read() as conn:
        return event_in(conn, event_id)


def row_to_event(row: Any) -> Event:
    """A table row as an :class:`Event`."""
    return Event(row.id, row.seq, row.source, row.detail_type, row.resource, dict(row.detail or {}),
                 row.created_by, clock.as_utc(row.created_at))


def events_after(conn: Connection, after: int, *, limit: int) -> list[Event]:
    """Up to ``limit`` events with ``seq > after``, in sequence order, read in ``conn``."""
    query = sa.select(events).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
    return [row_to_event(r) for r in conn.execute(query)]


def event_in(conn: Connection, event_id: str) -> Event:
    """One event by id, read in ``conn`` (raises ``NotFoundError``)."""
    row = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
    if row is None:
        raise NotFoundError(f"no event {event_id!r}; list events with 'loopml monitor events'", event=event_id)
    return row_to_event(row)


def references(conn: Connection) -> Iterator[Reference]:
    """Digests an event's detail mentions (a registered model, an evaluation report...): for fsck and gc."""
    c = events.c
    for seq, detail_type, detail in conn.execute(sa.select(c.seq, c.detail_type, c.detail)):
        yield from mentions(detail, f"event {seq} ({detail_type})")
