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


def upgrade(conn: Connection) -> list[str]:
    """Apply whatever is pending; a no-op when every branch head is already applied."""
    if not expected_heads() <= applied(conn):
        from alembic import command

        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        conn.commit()
    return sorted(expected_heads())
