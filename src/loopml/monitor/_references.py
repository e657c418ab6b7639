"""The blobs the monitoring service's records name (a reference provider for ``fsck`` and ``gc``)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core.references import JSON, Reference, mentions, named
from loopml.monitor import _tables as t


def schedules(conn: Connection) -> Iterator[Reference]:
    """The baseline ``statistics.json`` / ``constraints.json`` a schedule compares against."""
    c = t.schedules.c
    for name, config in conn.execute(sa.select(c.name, c.config)):
        owner = f"monitoring schedule {name}"
        for part in ("statistics", "constraints"):
            if isinstance(config, dict) and isinstance(config.get(part), str):
                yield Reference(config[part], f"{owner} baseline {part}", JSON)
        yield from mentions(config, owner)


def executions(conn: Connection) -> Iterator[Reference]:
    """Each monitoring execution's report and violations documents."""
    c = t.executions.c
    for execution, report, violations in conn.execute(sa.select(c.id, c.report_digest, c.violations_digest)):
        yield from named(f"monitoring execution {execution}", JSON, report=report, violations=violations)


def slots(conn: Connection) -> Iterator[Reference]:
    """Digests a schedule slot's result mentions (the execution's report...)."""
    c = t.slots.c
    for schedule, slot, result in conn.execute(sa.select(c.schedule_id, c.slot, c.result)):
        yield from mentions(result, f"monitoring schedule {schedule} slot {slot}")


def alarms(conn: Connection) -> Iterator[Reference]:
    """Digests an alarm definition mentions (none today)."""
    for name, definition in conn.execute(sa.select(t.alarms.c.name, t.alarms.c.definition)):
        yield from mentions(definition, f"alarm {name}")


def alarm_history(conn: Connection) -> Iterator[Reference]:
    """Digests an alarm state change's datapoints mention (none today: they are numbers)."""
    c = t.alarm_history.c
    for row_id, alarm, datapoints in conn.execute(sa.select(c.id, c.alarm, c.datapoints)):
        yield from mentions(datapoints, f"alarm {alarm} change {row_id}")
