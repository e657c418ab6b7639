"""The audit log is append-only and tamper-evident (RELIABILITY case 38), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml.core import audit
from loopml.core.db import Database


def _db_with_events(url: str, n: int = 50) -> Database:
    db = Database(url)
    for i in range(n):
        with db.write() as conn:
            audit.append(conn, actor=f"user{i % 3}", action="thing.change", resource=f"thing:{i}", details={"i": i})
    return db


def _drop_guard(db: Database) -> None:
    """What an attacker with owner rights on the database would do first."""
    with db.write() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_events_append_only ON audit_events")


def test_the_application_cannot_update_or_delete_audit_rows(db_url: str) -> None:
    db = _db_with_events(db_url, 3)
    for statement in ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2", "DELETE FROM audit_events WHERE seq = 2"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.write() as conn:
            conn.exec_driver_sql(statement)
    with db.read() as conn:
        assert audit.verify(conn).ok


@pytest.mark.parametrize(
    ("tamper", "first_broken"),
    [
        ("UPDATE audit_events SET actor = 'mallory' WHERE seq = 17", 17),
        ("DELETE FROM audit_events WHERE seq = 23", 23),
        ("swap", 30),
    ],
)
def test_verify_names_the_first_broken_event(db_url: str, tamper: str, first_broken: int) -> None:
    db = _db_with_events(db_url)
    with db.read() as conn:
        assert audit.verify(conn) == audit.VerifyResult(True, 50)
    _drop_guard(db)
    with db.write() as conn:
        if tamper == "swap":
            conn.exec_driver_sql("UPDATE audit_events SET seq = -1 WHERE seq = 30")
            conn.exec_driver_sql("UPDATE audit_events SET seq = 30 WHERE seq = 31")
            conn.exec_driver_sql("UPDATE audit_events SET seq = 31 WHERE seq = -1")
        else:
            conn.exec_driver_sql(tamper)
    with db.read() as conn:
        result = audit.verify(conn)
    assert not result.ok
    assert result.first_broken == first_broken


def test_tail_truncation_is_caught_by_the_anchor(db_url: str) -> None:
    db = _db_with_events(db_url, 20)
    with db.read() as conn:
        anchor = audit.head(conn)
    _drop_guard(db)
    with db.write() as conn:
        conn.exec_driver_sql("DELETE FROM audit_events WHERE seq > 15")
        last = conn.execute(sa.text("SELECT hash FROM audit_events WHERE seq = 15")).scalar()
        conn.execute(sa.text("UPDATE audit_head SET seq = 15, hash = :h"), {"h": last})
    with db.read() as conn:
        assert audit.verify(conn).ok  # consistent on its own...
        result = audit.verify(conn, anchor=anchor)
    assert not result.ok and result.first_broken == 20  # ...but not with the saved anchor


def test_audit_row_commits_or_rolls_back_with_the_change(tmp_path: Path) -> None:
    db = _db_with_events(f"sqlite:///{tmp_path / 'm.db'}", 2)
    with pytest.raises(RuntimeError), db.write() as conn:
        audit.append(conn, actor="a", action="x", resource="r")
        raise RuntimeError("the business write failed")
    with db.read() as conn:
        assert audit.head(conn)[0] == 2
        assert audit.verify(conn).ok
