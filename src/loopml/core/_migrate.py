"""Run the Alembic branches to their heads on an open connection (used by :class:`Database`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import Connection

_SCRIPTS = Path(__file__).parent / "migrations"


@lru_cache(maxsize=1)
def _config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


@lru_cache(maxsize=1)
def expected_heads() -> frozenset[str]:
    """The heads of every migration branch shipped with this version of loopml."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(_config()).get_heads())


def current_heads(conn: Connection) -> frozenset[str]:
    """The revisions recorded in the database (empty on a new database)."""
    from alembic.runtime.migration import MigrationContext

    return frozenset(MigrationContext.configure(conn).get_current_heads())


def upgrade(conn: Connection) -> list[str]:
    """Apply whatever is pending; a no-op when the database is at every head."""
    if current_heads(conn) != expected_heads():
        from alembic import command

        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        conn.commit()
    return sorted(expected_heads())
