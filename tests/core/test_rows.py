"""The persistence toolkit's row mapper: dataclasses are built from rows by column name, never by position."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from loopml.core.rows import from_row


@dataclass(frozen=True)
class Thing:
    group: str
    size: int
    at: datetime | None
    note: str = ""
    tags: dict[str, str] = field(default_factory=dict)


def _row(sql: str) -> sa.Row:
    with sa.create_engine("sqlite://").connect() as conn:
        return conn.execute(sa.text(sql)).one()


def test_fields_come_by_name_whatever_the_column_order() -> None:
    row = _row("SELECT '2026-01-02 03:04:05' AS at, 7 AS size, 'g' AS group_name")
    got = from_row(Thing, row, columns={"group": "group_name"})
    assert got == Thing(group="g", size=7, at="2026-01-02 03:04:05", note="", tags={})  # type: ignore[arg-type]


def test_timestamps_listed_as_utc_come_back_aware_and_none_stays_none() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)
    with sa.create_engine("sqlite://").connect() as conn:
        row = conn.execute(sa.select(sa.literal("g").label("group"), sa.literal(1).label("size"),
                                     sa.literal(naive, sa.DateTime()).label("at"))).one()
        empty = conn.execute(sa.select(sa.literal("g").label("group"), sa.literal(1).label("size"),
                                       sa.null().label("at"))).one()
    assert from_row(Thing, row, utc=("at",)).at == naive.replace(tzinfo=UTC)
    assert from_row(Thing, empty, utc=("at",)).at is None


def test_a_field_without_a_default_and_without_a_column_is_named() -> None:
    with pytest.raises(LookupError, match=r"Thing.size has no column 'size' in the row \(columns: \['at', 'group'\]\)"):
        from_row(Thing, _row("SELECT 'g' AS \"group\", NULL AS at"))
