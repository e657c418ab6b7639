"""Event rules: a pattern, the actions to take when an event matches it, and a cooldown.

:func:`process_events` reads the events after the rules' cursor, in sequence order. For each rule that
matches it claims one ``event_actions`` row per action (unique on rule, event and action index, so two
processors never act twice on one event), unless the rule acted within its cooldown, in which case the
skipped actions are recorded as ``SKIPPED_COOLDOWN``. Every action row names the event that caused it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, checks, clock, context, ids, names
from loopml.core.bus import Event, event_in, events_after
from loopml.core.rows import insert_ignore
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.events import actions as _actions
from loopml.events._tables import actions, cursors, rules
from loopml.events.patterns import check_pattern, matches

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")

CURSOR = "rules"
ACTED = ("STARTED", "SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class Rule:
    """A stored rule (read-only view)."""

    name: str
    pattern: dict[str, Any]
    actions: list[dict[str, Any]]
    cooldown_seconds: float
    enabled: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class ActionRecord:
    """One action a rule took (or skipped) for one event."""

    id: str
    rule: str
    event_id: str
    action_index: int
    kind: str
    status: str
    result: dict[str, Any]
    created_at: datetime
    ended_at: datetime | None


PUT_RULE_CONSTRAINTS: dict[str, list[checks.Constraint]] = {
    "cooldown_seconds": [checks.Interval(float, 0, checks.TEN_YEARS)],
    "enabled": [checks.Typed(bool, "bool")], "replace": [checks.Typed(bool, "bool")],
}
"""What :func:`put_rule` accepts (the name: :mod:`loopml.core.names`; the pattern: ``check_pattern``; each
action: its kind's ``check``)."""


_LIMIT: dict[str, list[checks.Constraint]] = {"limit": [checks.Interval(int, 1, checks.MAX_PAGE)]}


@checks.validate_params(PUT_RULE_CONSTRAINTS)
def put_rule(
    name: str,
    pattern: dict[str, Any],
    actions_: list[dict[str, Any]],
    *,
    cooldown_seconds: float = 3600.0,
    enabled: bool = True,
    replace: bool = False,
) -> Rule:
    """Create (or, with ``replace``, overwrite) a rule.

    Args:
        name: Lowercase letters, digits, dashes.
        pattern: EventBridge-style pattern (see :mod:`loopml.events.patterns`).
        actions_: Action specs (see :mod:`loopml.events.actions`); webhook URLs are checked now.
        cooldown_seconds: After acting, the rule skips matching events for this long (no retraining storm).
        enabled: A disabled rule matches nothing.
        replace: Overwrite an existing rule of this name instead of raising ``ConflictError``.

    Returns:
        The stored :class:`Rule`.
    """
    _check_name(name)
    check_pattern(pattern)
    if not isinstance(actions_, list) or not actions_:
        raise ValidationError(f"rule {name!r} needs a non-empty list of actions, got {actions_!r}")
    checked = [_actions.check_action(a) for a in actions_]
    user, now = context.current_user(), clock.now()
    values = dict(name=name, pattern=pattern, actions=checked, cooldown_seconds=float(cooldown_seconds),
                  enabled=enabled, created_by=user, created_at=now)
    with context.get_db().write() as conn:
        exists = conn.execute(sa.select(rules.c.name).where(rules.c.name == name)).first() is not None
        if exists and not replace:
            raise ConflictError(f"rule {name!r} exists; pass replace=True (--replace) to overwrite it", rule=name)
        if exists:
            conn.execute(rules.delete().where(rules.c.name == name))
        conn.execute(rules.insert().values(**values))
        audit.append(conn, actor=user, action="rule.put", resource=f"rule:{name}",
                     details={"pattern": pattern, "actions": checked, "cooldown_seconds": cooldown_seconds})
    return Rule(name, pattern, checked, float(cooldown_seconds), enabled, user, now)


def get_rule(name: str) -> Rule:
    """The stored rule (raises ``NotFoundError``)."""
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(rules).where(rules.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no rule {name!r}; list rules with 'loopml rules list'", rule=name)
    return _rule(row)


def list_rules() -> list[Rule]:
    """Every rule, by name."""
    with context.get_db().read() as conn:
        return [_rule(r) for r in conn.execute(sa.select(rules).order_by(rules.c.name))]


def delete_rule(name: str) -> None:
    """Delete a rule (its action history stays)."""
    get_rule(name)
    with context.get_db().write() as conn:
        conn.execute(rules.delete().where(rules.c.name == name))
        audit.append(conn, actor=context.current_user(), action="rule.delete", resource=f"rule:{name}")


@checks.validate_params(_LIMIT)
def list_actions(*, rule: str | None = None, event_id: str | None = None, limit: int = 100) -> list[ActionRecord]:
    """Actions taken (newest first), optionally for one rule or one event."""
    query = sa.select(actions).order_by(actions.c.created_at.desc(), actions.c.action_index).limit(limit)
    if rule:
        query = query.where(actions.c.rule == rule)
    if event_id:
        query = query.where(actions.c.event_id == event_id)
    with context.get_db().read() as conn:
        return [_record(r) for r in conn.execute(query)]


@checks.validate_params(_LIMIT)
def process_events(*, now: datetime | None = None, limit: int = 100) -> list[ActionRecord]:
    """Match new events against the rules and carry out the actions; returns the action rows written.

    Safe to call from several processes at once: each (rule, event, action) runs at most once.
    """
    now = now or clock.now()
    done: list[ActionRecord] = []
    with context.get_db().read() as conn:
        after = conn.execute(sa.select(cursors.c.seq).where(cursors.c.name == CURSOR)).scalar() or 0
        pending = events_after(conn, after, limit=limit)
    for event in pending:
        done += _handle(event, now)
    return done


def _handle(event: Event, now: datetime) -> list[ActionRecord]:
    claimed: list[tuple[str, dict[str, Any]]] = []
    records: list[ActionRecord] = []
    with context.get_db().write() as conn:
        for rule in [_rule(r) for r in conn.execute(sa.select(rules).where(rules.c.enabled.is_(True)))]:
            # like EventBridge, a rule acts only on events that happen after it exists
            if clock.as_utc(rule.created_at) <= clock.as_utc(event.created_at) and matches(rule.pattern, event):
                claimed += _claim(conn, rule, event, now, records)
        _advance(conn, event.seq)
    for action_id, spec in claimed:
        status, result = _actions.perform(spec, event, action_id=action_id)
        records.append(_finish(action_id, status, result))
    return records


def _claim(conn: Connection, rule: Rule, event: Event, now: datetime,
           records: list[ActionRecord]) -> list[tuple[str, dict[str, Any]]]:
    cooling = _in_cooldown(conn, rule, event.id, now)
    claimed = []
    for index, spec in enumerate(rule.actions):
        row = dict(id=ids.new_id("act"), rule=rule.name, event_id=event.id, action_index=index,
                   kind=spec["type"], status="SKIPPED_COOLDOWN" if cooling else "STARTED",
                   result={"cooldown_until": cooling.isoformat()} if cooling else {}, created_at=now,
                   ended_at=now if cooling else None)
        if not insert_ignore(conn, actions, row):
            continue  # another processor took this action
        audit.append(conn, actor="automation:rules", action="rule.action", resource=f"rule:{rule.name}",
                     details={"event": event.id, "kind": spec["type"], "status": row["status"]})
        if cooling:
            records.append(_record(_Row(row)))
        else:
            claimed.append((row["id"], spec))
    return claimed


def _in_cooldown(conn: Connection, rule: Rule, event_id: str, now: datetime) -> datetime | None:
    if rule.cooldown_seconds <= 0:
        return None
    since = now - timedelta(seconds=rule.cooldown_seconds)
    last = conn.execute(
        sa.select(sa.func.max(actions.c.created_at)).where(
            actions.c.rule == rule.name, actions.c.status.in_(ACTED), actions.c.event_id != event_id,
            actions.c.created_at > since)).scalar()
    return clock.as_utc(last) + timedelta(seconds=rule.cooldown_seconds) if last else None


def _advance(conn: Connection, seq: int) -> None:
    if not insert_ignore(conn, cursors, {"name": CURSOR, "seq": seq}):
        conn.execute(cursors.update().where(cursors.c.name == CURSOR, cursors.c.seq < seq).values(seq=seq))


def _finish(action_id: str, status: str, result: dict[str, Any]) -> ActionRecord:
    ended = None if status == "STARTED" else clock.now()
    with context.get_db().write() as conn:
        conn.execute(actions.update().where(actions.c.id == action_id).values(
            status=status, result=result, ended_at=ended))
        row = conn.execute(sa.select(actions).where(actions.c.id == action_id)).one()
    return _record(row)


def finish_action(action_id: str, status: str, result: dict[str, Any]) -> ActionRecord:
    """Record the outcome of an action that ran elsewhere (the detached pipeline launcher)."""
    return _finish(action_id, status, result)


def get_action(action_id: str) -> tuple[ActionRecord, dict[str, Any], Event]:
    """An action row with its spec and the event that caused it."""
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(actions).where(actions.c.id == action_id)).first()
        if row is None:
            raise NotFoundError(f"no action {action_id!r}", action=action_id)
        rule = conn.execute(sa.select(rules).where(rules.c.name == row.rule)).first()
        event = event_in(conn, row.event_id)
    if rule is None:
        raise NotFoundError(f"rule {row.rule!r} of action {action_id} was deleted", action=action_id)
    return _record(row), list(rule.actions)[row.action_index], event


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _rule(row: Any) -> Rule:
    return Rule(row.name, dict(row.pattern), list(row.actions), float(row.cooldown_seconds), bool(row.enabled),
                row.created_by, clock.as_utc(row.created_at))


def _record(row: Any) -> ActionRecord:
    ended = clock.as_utc(row.ended_at) if row.ended_at else None
    return ActionRecord(row.id, row.rule, row.event_id, row.action_index, row.kind, row.status,
                        dict(row.result or {}), clock.as_utc(row.created_at), ended)


def _check_name(name: str) -> None:
    names.check("rule", name, narrower=_NAME, rule="1-100 lowercase ASCII letters, digits and dashes, starting "
                "with a letter or digit", example="retrain-on-drift")
