"""The metadata database: WAL + BEGIN IMMEDIATE on SQLite, busy handling, concurrent first-use migration."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml.core import _migrate
from loopml.core._tables import audit_events
from loopml.core.db import Database
from loopml.errors import StoreBusy


def test_migrates_to_every_head_on_both_backends(db_url: str) -> None:
    db = Database(db_url)
    with db.read() as conn:
        assert _migrate.expected_heads() <= _migrate.applied(conn)
        assert {"core_0001", "pipelines_0001"} <= _migrate.applied(conn)
    with db.read() as conn:
        assert _migrate.is_current(conn)
    Database(db_url).migrate()  # second open is a no-op
    db.dispose()


def test_a_current_database_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    Database(url).dispose()
    code = f"import sys; from loopml.core.db import Database; Database({url!r}); print('alembic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_write_transactions_reserve_the_database_at_begin(tmp_path: Path) -> None:
    """A write() holds the write lock from BEGIN, so a read-then-write never fails on upgrade."""
    path = tmp_path / "m.db"
    db = Database(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with db.write() as conn:
        conn.execute(sa.select(audit_events.c.seq)).all()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")


def _hold_lock(path: Path, seconds: float, started: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE audit_head SET seq = seq WHERE id = 1")
    started.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


@pytest.mark.parametrize(("hold", "succeeds"), [(0.5, True), (2.5, False)])
def test_a_locked_sqlite_waits_then_succeeds_or_reports_busy(tmp_path: Path, hold: float, succeeds: bool) -> None:
    """RELIABILITY case 17: wait within the busy timeout; past it, StoreBusy (503), no partial write."""
    path = tmp_path / "m.db"
    db = Database(f"sqlite:///{path}", busy_timeout=1.5)
    started = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(path, hold, started))
    holder.start()
    started.wait(5)
    try:
        if succeeds:
            with db.write() as conn:
                conn.execute(sa.text("UPDATE audit_head SET seq = 7 WHERE id = 1"))
        else:
            with pytest.raises(StoreBusy) as info, db.write() as conn:
                conn.execute(sa.text("UPDATE audit_head SET seq = 7 WHERE id = 1"))
            assert info.value.http_status == 503
    finally:
        holder.join()
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT seq FROM audit_head")).scalar() == (7 if succeeds else 0)


_OPEN = """
import sys, time
from loopml.core.db import Database
import loopml.core._tables
t = float(sys.argv[2])
while time.time() < t: pass
Database(sys.argv[1])
print("ok")
"""


@pytest.mark.slow
def test_four_processes_migrating_an_empty_database_at_once(db_url: str) -> None:
    """RELIABILITY case 18: migrated once, all four healthy, no duplicate-table errors."""
    start = str(time.time() + 2.0)
    procs = [
        subprocess.Popen([sys.executable, "-c", _OPEN, db_url, start], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [p.communicate(timeout=90) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in results]
    assert all(out.strip() == "ok" for out, _ in results)
    db = Database(db_url, migrate=False)
    with db.read() as conn:
        assert _migrate.expected_heads() <= _migrate.applied(conn)
        assert conn.execute(sa.text("SELECT count(*) FROM audit_head")).scalar() == 1
    db.dispose()


def test_insert_ignore_says_whether_the_row_went_in_on_every_database(any_home) -> None:
    from loopml.core import context
    from loopml.core.rows import insert_ignore
    from loopml.events._tables import cursors

    with context.get_db().write() as conn:
        assert insert_ignore(conn, cursors, {"name": "probe", "seq": 1}) is True
        assert insert_ignore(conn, cursors, {"name": "probe", "seq": 2}) is False
