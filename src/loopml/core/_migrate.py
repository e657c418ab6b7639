"""Run the Alembic branches to their heads on an open connection (used by :class:`Database`).

Opening a database that is already current must be cheap (every CLI command does it): after a successful
upgrade a one-row stamp records a fingerprint of the shipped migration files, and a matching stamp skips
Alembic entirely (importing it alone costs ~0.15 s).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_SCRIPTS = Path(__file__).parent / "migrations"
STAMP_TABLE = "loopml_schema_stamp"


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """sha256 over the names and contents of the shipped migration files."""
    digest = hashlib.sha256()
    for path in sorted((_SCRIPTS / "versions").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current(conn: Connection) -> bool:
    """True when the stamp says the shipped migrations were all applied (no Alembic import)."""
    if not sa.inspect(conn).has_table(STAMP_TABLE):
        return False
    return conn.execute(sa.text(f"SELECT fingerprint FROM {STAMP_TABLE}")).scalar() == fingerprint()


def _stamp(conn: Connection) -> None:
    conn.execute(sa.text(f"CREATE TABLE IF NOT EXISTS {STAMP_TABLE} (fingerprint VARCHAR(64) NOT NULL)"))
    conn.execute(sa.text(f"DELETE FROM {STAMP_TABLE}"))
    conn.execute(sa.text(f"INSERT INTO {STAMP_TABLE} (fingerprint) VALUES (:f)"), {"f": fingerprint()})


@lru_cache(maxsize=1)
def _config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


@lru_cache(maxsize=1)
def _scripts():  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


@lru_cache(maxsize=1)
def expected_heads() -> frozenset[str]:
    """The heads of every migration branch shipped with this version of loopml."""
    return frozenset(_scripts().get_heads())


def applied(conn: Connection) -> frozenset[str]:
    """Every revision applied to the database: its recorded heads and all they depend on."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(conn).get_current_heads()
    if not heads:
        return frozenset()
    revisions = _scripts().revision_map.iterate_revisions(heads, "base", select_for_downgrade=True)
    return frozenset(r.revision for r in revisions)


def upgrade(conn: Connection) -> None:
    """Apply whatever is pending, then stamp; a no-op when every branch head is already applied."""
    if is_current(conn):
        conn.rollback()
        return
    if not expected_heads() <= applied(conn):
        from alembic import command

        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        conn.commit()
    _stamp(conn)
    conn.commit()
