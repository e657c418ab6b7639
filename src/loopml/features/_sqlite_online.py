"""The embedded online store: one SQLite file in WAL mode, a row per (group, entity key)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

from loopml.errors import BackendError, StoreBusy
from loopml.features.online import OnlineRecord, OnlineRow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_features (
    grp TEXT NOT NULL, k TEXT NOT NULL, event_us INTEGER NOT NULL, write_us INTEGER NOT NULL,
    vals TEXT NOT NULL, PRIMARY KEY (grp, k)
) WITHOUT ROWID
"""
_UPSERT = """
INSERT INTO online_features (grp, k, event_us, write_us, vals) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (grp, k) DO UPDATE SET event_us = excluded.event_us, write_us = excluded.write_us,
    vals = excluded.vals
WHERE excluded.event_us > online_features.event_us
   OR (excluded.event_us = online_features.event_us AND excluded.write_us >= online_features.write_us)
"""
_BATCH_SQL: dict[int, str] = {}


class SQLiteOnlineStore:
    """Online store in a SQLite file (the embedded default); safe across threads and processes.

    Args:
        path: the database file (created with its folder), or ``:memory:``.
        busy_timeout: seconds a writer waits for another writer before :class:`StoreBusy`.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 10.0) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                     check_same_thread=False)
        with self._errors():
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._conn.execute(_SCHEMA)

    @classmethod
    def from_url(cls, url: str) -> SQLiteOnlineStore:
        """Open ``sqlite:///path/online.db`` (``sqlite://`` alone: a private in-memory database)."""
        return cls(url.split(":///", 1)[1] if ":///" in url else ":memory:")

    def _errors(self) -> _translate:
        return _translate(self.path)

    def write_batch(self, group: str, rows: Sequence[OnlineRow]) -> int:
        """Upsert ``rows`` where newer, in one transaction; return how many rows changed."""
        with self._lock, self._errors():
            before = self._conn.total_changes
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_UPSERT, ((group, *row) for row in rows))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            return self._conn.total_changes - before

    def read(self, group: str, key: str) -> OnlineRecord | None:
        """The stored row for one encoded key, or ``None``."""
        with self._lock, self._errors():
            row = self._conn.execute(
                "SELECT event_us, write_us, vals FROM online_features WHERE grp = ? AND k = ?", (group, key)
            ).fetchone()
        return None if row is None else OnlineRecord(*row)

    def read_batch(self, group: str, keys: Sequence[str]) -> list[OnlineRecord | None]:
        """The stored rows for ``keys``, in the same order (``None`` where missing)."""
        found: dict[str, OnlineRecord] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            sql = _BATCH_SQL.get(len(chunk))
            if sql is None:
                sql = _BATCH_SQL[len(chunk)] = (
                    "SELECT k, event_us, write_us, vals FROM online_features WHERE grp = ? AND k IN ("
                    + ",".join("?" * len(chunk)) + ")")
            with self._lock, self._errors():
                rows = self._conn.execute(sql, (group, *chunk)).fetchall()
            found.update((r[0], OnlineRecord(r[1], r[2], r[3])) for r in rows)
        return [found.get(k) for k in keys]

    def scan(self, group: str) -> Iterator[tuple[str, OnlineRecord]]:
        """Every stored ``(key, record)`` of ``group``, by key."""
        with self._lock, self._errors():
            rows = self._conn.execute(
                "SELECT k, event_us, write_us, vals FROM online_features WHERE grp = ? ORDER BY k", (group,)
            ).fetchall()
        for row in rows:
            yield row[0], OnlineRecord(row[1], row[2], row[3])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class _translate:
    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if isinstance(exc, sqlite3.OperationalError):
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                raise StoreBusy(f"the online store {self.path} stayed locked by another writer; retry shortly") from exc
            raise BackendError(f"the online store {self.path} failed ({type(exc).__name__}); check the file "
                               "and the disk, or point LOOPML_ONLINE elsewhere") from exc
        return False
