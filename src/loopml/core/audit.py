"""The hash-chained, append-only audit log.

Every state change appends an event in the *same transaction* as the change, so a crash leaves both or
neither. Each event's hash covers its content and the previous event's hash; ``audit_head`` holds the
last sequence number and hash (the anchor), so edited, deleted, reordered or truncated rows are found by
:func:`verify`. The database refuses UPDATE and DELETE on ``audit_events`` (a trigger).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import checks, clock, faults
from loopml.core._tables import audit_events, audit_head

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the audit log."""

    seq: int
    ts: str
    actor: str
    action: str
    resource: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :func:`verify`: ``ok``, how many events were checked, and the first broken one."""

    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str = ""


def _digest(seq: int, ts: str, actor: str, action: str, resource: str, details: str, prev: str) -> str:
    body = json.dumps([seq, ts, actor, action, resource, details, prev], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def append(
    conn: Connection, *, actor: str, action: str, resource: str, details: dict[str, Any] | None = None
) -> AuditEvent:
    """Append an event inside the caller's write transaction.

    Args:
        conn: a connection from ``Database.write()``; the event commits or rolls back with the change.
        actor: who did it (a user name, or ``automation:<rule>`` for the platform acting on a rule).
        action: a dotted verb such as ``model.approve``.
        resource: what it was done to, e.g. ``model:churn/3``.
        details: JSON-safe facts worth keeping (digests, notes, old and new values).
    """
    head = conn.execute(
        sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
    ).one()
    seq, prev = head.seq + 1, head.hash
    ts = clock.now().isoformat(timespec="microseconds")
    body = json.dumps(details or {}, sort_keys=True, separators=(",", ":"), default=str)
    digest = _digest(seq, ts, actor, action, resource, body, prev)
    conn.execute(
        audit_events.insert().values(
            seq=seq, ts=ts, actor=actor, action=action, resource=resource, details=body,
            prev_hash=prev, hash=digest,
        )
    )
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(seq=seq, hash=digest))
    faults.point("after_audit_append")
    return AuditEvent(seq, ts, actor, action, resource, json.loads(body), prev, digest)


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        row.seq, row.ts, row.actor, row.action, row.resource, json.loads(row.details), row.prev_hash, row.hash
    )


def events(
    conn: Connection, *, resource: str | None = None, action: str | None = None,
    actor: str | None = None, limit: int = 100, offset: int = 0, newest_first: bool = True,
) -> list[AuditEvent]:
    """Events matching the filters (``resource`` and ``action`` match as prefixes)."""
    limit, offset = checks.page(limit, offset)
    query = sa.select(audit_events)
    if resource:
        query = query.where(audit_events.c.resource.startswith(resource, autoescape=True))
    if action:
        query = query.where(audit_events.c.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(audit_events.c.actor == actor)
    order = audit_events.c.seq.desc() if newest_first else audit_events.c.seq
    return [_event(r) for r in conn.execute(query.order_by(order).limit(limit).offset(offset))]


def head(conn: Connection, *, lock: bool = False) -> tuple[int, str]:
    """The anchor: the last sequence number and hash. Keep a copy elsewhere to detect tail truncation.

    Args:
        conn: a connection.
        lock: hold the head row until the transaction ends (``FOR UPDATE``), so no event is appended meanwhile.
    """
    query = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    row = conn.execute(query.with_for_update() if lock else query).one()
    return row.seq, row.hash


def verify(conn: Connection, *, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the chain and report the first event that breaks it.

    Args:
        conn: a read connection.
        anchor: ``(seq, hash)`` saved earlier with :func:`head`; the chain must still contain it.
    """
    prev, expected_seq, checked = GENESIS, 1, 0
    hashes: dict[int, str] = {}
    for row in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)):
        checked += 1
        if row.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"event {expected_seq} is missing (found {row.seq})")
        if row.prev_hash != prev:
            return VerifyResult(False, checked, row.seq, f"event {row.seq} does not follow event {row.seq - 1}")
        recomputed = _digest(row.seq, row.ts, row.actor, row.action, row.resource, row.details, row.prev_hash)
        if recomputed != row.hash:
            return VerifyResult(False, checked, row.seq, f"event {row.seq} was edited after it was written")
        prev, expected_seq = row.hash, expected_seq + 1
        hashes[row.seq] = row.hash
    last_seq, last_hash = head(conn)
    if (expected_seq - 1, prev) != (last_seq, last_hash):
        return VerifyResult(
            False, checked, expected_seq, f"the log ends at event {expected_seq - 1} but its head records {last_seq}"
        )
    if anchor is not None and hashes.get(anchor[0]) != anchor[1]:
        return VerifyResult(False, checked, anchor[0], f"anchored event {anchor[0]} is missing or was changed")
    return VerifyResult(True, checked)
