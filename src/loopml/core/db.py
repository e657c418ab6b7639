"""The metadata database: one SQLAlchemy engine, explicit transactions, migrations on first use.

SQLite (the embedded default) runs in WAL mode with a busy timeout so several processes can write at
once, and every write transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and
then upgrades to a write fails at once with "database is locked" when another connection committed in
between, whatever the timeout (RELIABILITY.md §1). PostgreSQL is used as is.

Each stage declares its tables on :data:`metadata` and owns an Alembic branch of migrations in
``core/migrations/versions/<stage>_NNNN_*.py``; :class:`Database` upgrades to all heads the first time a
process opens a database, under a lock so concurrent first users migrate once.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from loopml.errors import BackendError, StoreBusy, ValidationError

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)
"""Every stage's tables live on this one MetaData."""

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x6C6F6F706D6C  # "loopml"


def _unstorable(exc: BaseException) -> ValidationError:
    """A value the database cannot hold: text that is not UTF-8 (undecodable bytes from a terminal in
    another encoding) or an integer beyond 64 bits. Caught here so it is never an internal error."""
    if isinstance(exc, UnicodeEncodeError):
        return ValidationError(f"the text {exc.object!r} is not valid UTF-8 (it holds undecodable bytes); "
                               "names and values must be UTF-8 text")
    if isinstance(exc, sa.exc.DataError):
        return ValidationError(f"a value is out of range or too long for the metadata database "
                               f"({type(exc.orig).__name__}); use a shorter or smaller value")
    return ValidationError("a number is out of range: the metadata database stores whole numbers up to "
                           f"{2**63 - 1}; use a smaller value")


def _sqlite_path(url: sa.URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


class Database:
    """A metadata database reached by a SQLAlchemy URL.

    Args:
        url: ``sqlite:///path.db`` or ``postgresql+psycopg://user@host/db``.
        busy_timeout: seconds a SQLite writer waits for another writer before :class:`StoreBusy` (30 s: on
            a machine loaded far beyond its cores, a writer holding the lock can be off the CPU for seconds,
            and eight processes registering at once waited more than 5 s there).
        migrate: apply pending migrations now (under a cross-process lock).
    """

    def __init__(self, url: str, *, busy_timeout: float = 30.0, migrate: bool = True) -> None:
        self.url = sa.make_url(url)
        self.dialect = self.url.get_backend_name()
        self.busy_timeout = busy_timeout
        path = _sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = self._make_engine()
        if migrate:
            self.migrate()

    def _make_engine(self) -> Engine:
        if self.dialect != "sqlite":
            return sa.create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        engine = sa.create_engine(self.url, connect_args={"timeout": self.busy_timeout})
        timeout_ms = int(self.busy_timeout * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={timeout_ms}")
            # setting WAL on every connect failed in CI with "database is locked" when eight threads opened
            # their first connections while others wrote; reading the mode takes no write lock, so the
            # change is asked for only on a database that is not in WAL yet (a new one)
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("loopml_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite; commits on exit, rolls back on error."""
        with self._translate(), self.engine.connect() as conn:
            conn.execution_options(loopml_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on both back ends)."""
        with self._translate(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (UnicodeEncodeError, OverflowError, sa.exc.DataError) as exc:
            raise _unstorable(exc) from exc
        except sa.exc.OperationalError as exc:
            text = str(exc.orig).lower()
            if "locked" in text or "busy" in text:
                raise StoreBusy(
                    f"the metadata database stayed locked by another writer for more than "
                    f"{self.busy_timeout:g} s; retry shortly",
                ) from exc
            raise BackendError(
                f"the metadata database at {self.url.render_as_string(hide_password=True)} failed "
                f"({type(exc.orig).__name__}); check that it is running and that LOOPML_DB is right",
            ) from exc
        except sa.exc.StatementError as exc:
            if isinstance(exc.orig, UnicodeEncodeError | OverflowError):
                raise _unstorable(exc.orig) from exc
            raise

    # -- migrations -------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Upgrade the schema to every branch head, once, under a cross-process lock.

        A database already current is recognised by its stamp without taking the lock or loading Alembic.
        """
        from loopml.core import _migrate

        with self._translate():
            with self.engine.connect() as conn:
                current = _migrate.is_current(conn)
            if not current:
                with self._migration_lock() as conn:
                    _migrate.upgrade(conn)

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[Connection]:
        path = _sqlite_path(self.url)
        if self.dialect == "postgresql":
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})")
                conn.commit()
                try:
                    yield conn
                finally:
                    conn.rollback()
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})")
                    conn.commit()
            return
        lock_file = open(f"{path}.migrate.lock", "a") if path else None  # noqa: SIM115
        try:
            if lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
            with self.engine.connect() as conn:
                yield conn
        finally:
            if lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
                lock_file.close()

    def dispose(self) -> None:
        """Close pooled connections (call after fork, or when done)."""
        self.engine.dispose()
