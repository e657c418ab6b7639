"""The migrations build exactly the schema the code declares (no drift between _tables.py and migrations)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import loopml
from loopml.core.db import Database, metadata


def _import_all_tables() -> None:
    for info in pkgutil.walk_packages(loopml.__path__, "loopml."):
        if info.name.endswith("._tables"):
            importlib.import_module(info.name)


def test_migrated_schema_matches_the_declared_tables(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    _import_all_tables()
    db = Database(db_url)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(ctx, metadata) if not _ignorable(d)]
    db.dispose()
    assert diff == [], "a _tables.py and its migration disagree; add a migration"


def _ignorable(diff: object) -> bool:
    # alembic's own version table, and optuna's tables living in the same database
    text = repr(diff)
    return "alembic_version" in text or "loopml_schema_stamp" in text or "remove_table" in text and any(
        name in text for name in ("studies", "trials", "trial_", "study_", "version_info", "optuna"))


@pytest.mark.parametrize("name", ["loopml.core._tables"])
def test_core_tables_are_declared(name: str) -> None:
    module = importlib.import_module(name)
    assert {"artifacts", "audit_events", "audit_head", "users", "user_roles", "tokens", "leases"} <= set(
        t for t in metadata.tables) and module is not None


def test_a_column_type_that_differs_from_its_migration_is_reported(tmp_path: Path) -> None:
    """The comparison above looks at column types too: a widened column without a migration is a diff."""
    import sqlalchemy as sa
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    _import_all_tables()
    db = Database(f"sqlite:///{tmp_path}/m.db")
    changed = sa.MetaData()
    sa.Table("leases", changed, *(
        sa.Column(c.name, sa.Text() if c.name == "owner" else c.type, primary_key=c.primary_key, nullable=c.nullable)
        for c in metadata.tables["leases"].columns))
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(ctx, changed) if "modify_type" in repr(d)]
    db.dispose()
    assert len(diff) == 1 and "'owner'" in repr(diff[0]), diff
