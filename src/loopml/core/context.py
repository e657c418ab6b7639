"""The process-wide stores, opened lazily from the settings.

``get_db()`` and ``get_artifacts()`` open once per process (and again after :func:`reset`, or in a
forked child). Library code calls these; tests reset them between cases.
"""

from __future__ import annotations

import os

from loopml.config import Settings, get_settings
from loopml.core.artifacts import ArtifactStore
from loopml.core.db import Database

_state: dict[str, object] = {}


def _fresh() -> dict[str, object]:
    if _state.get("pid") != os.getpid():
        _state.clear()
        _state["pid"] = os.getpid()
    return _state


def get_db() -> Database:
    """The metadata database for ``LOOPML_DB`` (migrated on first use)."""
    state = _fresh()
    if "db" not in state:
        settings = get_settings()
        if settings.db_url.startswith("sqlite"):
            settings.ensure_home()
        import loopml.core._tables  # noqa: F401  (register core tables)

        state["db"] = Database(settings.db_url)
    return state["db"]  # type: ignore[return-value]


def get_artifacts() -> ArtifactStore:
    """The content-addressed artifact store for ``LOOPML_ARTIFACTS``."""
    state = _fresh()
    if "artifacts" not in state:
        state["artifacts"] = ArtifactStore(get_settings().artifacts_url)
    return state["artifacts"]  # type: ignore[return-value]


def current_user() -> str:
    """The acting identity in embedded mode: ``LOOPML_USER`` or the OS user."""
    return os.environ.get("LOOPML_USER") or get_settings().user


def reset() -> None:
    """Close and forget the open stores (after the settings or environment changed)."""
    db = _state.get("db")
    if isinstance(db, Database):
        db.dispose()
    _state.clear()


__all__ = ["Settings", "current_user", "get_artifacts", "get_db", "get_settings", "reset"]
