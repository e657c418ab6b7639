"""The event bus: events are rows with a gap-free sequence number, matched by EventBridge-style patterns.

An event has a ``source`` (``loopml.monitor``), a ``detail_type`` (``Alarm State Change``), a
``resource`` (``alarm:churn-drift``) and a JSON ``detail``. Emitting one is a row insert, so it can join
the transaction of the change it reports. Rules read events in sequence order (see
:mod:`loopml.events.rules`).

Patterns follow Amazon EventBridge: a dict whose keys name event fields (``source``, ``detail-type``,
``resources``, ``detail``); a list value matches when the event's value is one of its items, a nested dict
matches nested fields, and ``{"prefix": "..."}``, ``{"anything-but": [...]}``, ``{"numeric": [">", 3]}``
and ``{"exists": true}`` work as they do there.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock, context, ids
from loopml.errors import ValidationError
from loopml.events._tables import events

_NUMERIC = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">=": operator.ge, ">": operator.gt}


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
    query = sa.select(events).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
    if detail_type:
        query = query.where(events.c.detail_type == detail_type)
    with context.get_db().read() as conn:
        return [row_to_event(r) for r in conn.execute(query)]


def get_event(event_id: str) -> Event:
    """One event by id (raises ``NotFoundError``)."""
    from loopml.errors import NotFoundError

    with context.get_db().read() as conn:
        row = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
    if row is None:
        raise NotFoundError(f"no event {event_id!r}; list events with 'loopml monitor events'", event=event_id)
    return row_to_event(row)


def row_to_event(row: Any) -> Event:
    """A table row as an :class:`Event`."""
    return Event(row.id, row.seq, row.source, row.detail_type, row.resource, dict(row.detail or {}),
                 row.created_by, clock.as_utc(row.created_at))


def matches(pattern: dict[str, Any], event: Event | dict[str, Any]) -> bool:
    """Whether an EventBridge-style ``pattern`` matches ``event``.

    Example:
        >>> matches({"detail-type": ["Alarm State Change"], "detail": {"state": ["ALARM"]}},
        ...         {"detail-type": "Alarm State Change", "detail": {"state": "ALARM"}})
        True
    """
    doc = event.to_dict() if isinstance(event, Event) else event
    return _match_dict(pattern, doc)


def check_pattern(pattern: Any) -> dict[str, Any]:
    """Validate a pattern's shape; returns it. Raises ``ValidationError`` naming the bad part."""
    if not isinstance(pattern, dict) or not pattern:
        raise ValidationError(
            f"an event pattern must be a non-empty JSON object, got {pattern!r}; e.g. "
            '{"detail-type": ["Alarm State Change"], "detail": {"state": ["ALARM"]}}')
    for key, value in pattern.items():
        if isinstance(value, dict):
            check_pattern(value)
        elif not isinstance(value, list) or not value:
            raise ValidationError(
                f"pattern field {key!r} is {value!r}; each field needs a non-empty list of allowed values "
                "or a nested object", field=key)
    return pattern


def _match_dict(pattern: dict[str, Any], doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    return all(_match_field(spec, doc.get(key), key in doc) for key, spec in pattern.items())


def _match_field(spec: Any, value: Any, present: bool) -> bool:
    if isinstance(spec, dict):
        return _match_dict(spec, value)
    values = value if isinstance(value, list) else [value]
    return any(_match_one(item, v, present) for item in spec for v in values)


def _match_one(item: Any, value: Any, present: bool) -> bool:
    if not isinstance(item, dict):
        return present and item == value
    if "exists" in item:
        return bool(item["exists"]) == present
    if not present:
        return False
    if "prefix" in item:
        return isinstance(value, str) and value.startswith(str(item["prefix"]))
    if "anything-but" in item:
        banned = item["anything-but"]
        return value not in (banned if isinstance(banned, list) else [banned])
    if "numeric" in item:
        return _numeric(item["numeric"], value)
    return False


def _numeric(conditions: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    pairs = zip(conditions[::2], conditions[1::2], strict=False)
    return all(op in _NUMERIC and _NUMERIC[op](value, bound) for op, bound in pairs)
