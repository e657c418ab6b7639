"""The process-wide stores, opened lazily from the settings, and the acting identity.

``get_db()`` and ``get_artifacts()`` open once per process (and again after :func:`reset`, or in a
forked child). Library code calls these; tests reset them between cases. The first process to open a home
that has never been used founds it: the identity acting then (``LOOPML_USER`` or the OS user) is granted
its roles explicitly and audited (:func:`loopml.core.identity.found_home`). :func:`current_user` is the
identity every embedded action is attributed to, and refuses one that holds no role.
"""

from __future__ import annotations

import os

from loopml.config import Settings, get_settings
from loopml.core import identity
from loopml.core.artifacts import ArtifactStore
from loopml.core.db import Database

_state: dict[str, object] = {}


def _fresh() -> dict[str, object]:
    """The open stores, forgotten in a forked child and reopened when the store settings changed."""
    settings = get_settings()
    stores = (settings.db_url, settings.artifacts_url)
    if _state.get("pid") != os.getpid():
        _state.clear()  # a forked child: the parent's connections are not this process's to close
    elif _state.get("stores") != stores:
        reset()  # LOOPML_DB or LOOPML_ARTIFACTS changed: the stores opened from the old values are closed
    _state.update(pid=os.getpid(), stores=stores)
    return _state


def get_db() -> Database:
    """The metadata database for ``LOOPML_DB`` (migrated on first use)."""
    state = _fresh()
    if "db" not in state:
        settings = get_settings()
        if settings.db_url.startswith("sqlite"):
            settings.ensure_home()
        import loopml.core._tables  # noqa: F401  (register core tables)

        db = Database(settings.db_url)
        _found(db)
        state["db"] = db
    return state["db"]  # type: ignore[return-value]


def _found(db: Database) -> None:
    """Grant the founder's roles when this home has never been used (a cheap read first, then under the lock)."""
    with db.read() as conn:
        if not identity.is_fresh_home(conn):
            return
    with db.write() as conn:
        identity.found_home(conn, claimed_user())


def get_artifacts() -> ArtifactStore:
    """The content-addressed artifact store for ``LOOPML_ARTIFACTS``."""
    state = _fresh()
    if "artifacts" not in state:
        state["artifacts"] = ArtifactStore(get_settings().artifacts_url)
    return state["artifacts"]  # type: ignore[return-value]


def claimed_user() -> str:
    """Who this process says it is: ``LOOPML_USER`` or the OS user (not checked against any grant)."""
    return get_settings().user


def current_user() -> str:
    """The acting identity in embedded mode (``LOOPML_USER`` or the OS user), which must hold a role.

    Raises:
        PermissionDenied: the identity was never granted a role in this home, or its last role was revoked;
            the message says who can grant one and with which command.
    """
    user = claimed_user()
    with get_db().read() as conn:
        identity.require_any_role(conn, user)
    return user


def reset() -> None:
    """Close and forget the open stores (after the settings or environment changed)."""
    db = _state.get("db")
    if isinstance(db, Database):
        db.dispose()
    _state.clear()


__all__ = ["Settings", "claimed_user", "current_user", "get_artifacts", "get_db", "get_settings", "reset"]
