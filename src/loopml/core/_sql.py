"""Small SQL helpers shared by every stage's repository code."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same primary/unique key exists. Returns True if inserted."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    result = conn.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)
