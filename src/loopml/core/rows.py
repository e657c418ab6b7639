"""Row helpers shared by every stage's repository code (the persistence toolkit)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock

T = TypeVar("T")


def insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same primary/unique key exists. Returns True if inserted.

    Whether the row went in is read from ``RETURNING``, never from the cursor's row count: with psycopg 3 an
    ``INSERT ... ON CONFLICT DO NOTHING`` that inserted nothing reports -1 through SQLAlchemy, which reads as
    "inserted" (so on PostgreSQL every claim looked won, and a rule's cursor never advanced)."""
    from sqlalchemy.dialects import postgresql, sqlite

    key = list(table.primary_key.columns) or list(table.columns)[:1]
    if conn.dialect.name == "postgresql":
        result = conn.execute(postgresql.insert(table).values(**values).on_conflict_do_nothing().returning(*key))
    else:
        result = conn.execute(sqlite.insert(table).values(**values).on_conflict_do_nothing().returning(*key))
    return result.first() is not None


def from_row(cls: type[T], row: Any, *, columns: Mapping[str, str] | None = None,
             utc: Collection[str] = ()) -> T:
    """A dataclass built from a row field by field, by column name (never by position).

    Args:
        cls: a dataclass; a field with a default may have no column (it keeps its default).
        row: a SQLAlchemy row (or any object with a ``_mapping``).
        columns: field -> column, for the fields whose column is named differently.
        utc: fields holding timestamps, read as aware UTC datetimes (None stays None).

    Raises:
        LookupError: a field without a default has no column in the row (names both).
    """
    mapping, renamed, values = row._mapping, columns or {}, {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        column = renamed.get(field.name, field.name)
        if column not in mapping:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise LookupError(f"{cls.__name__}.{field.name} has no column {column!r} in the row "
                                  f"(columns: {sorted(mapping.keys())})")
            continue
        value = mapping[column]
        values[field.name] = clock.as_utc(value) if field.name in utc and value is not None else value
    return cls(**values)
