"""A control plane over a fresh home with one user per role, a token each, and two registered versions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

#: user -> roles granted. ``tess`` both trains and approves (separation-of-duties cases); ``ivy`` is an application
#: that may only call endpoints.
USERS = {
    "root": ("admin",),
    "ann": ("approver",),
    "dana": ("data-scientist",),
    "vic": ("viewer",),
    "tess": ("data-scientist", "approver"),
    "ivy": ("invoker",),
}
ROLE_USER = {"admin": "root", "approver": "ann", "data-scientist": "dana", "viewer": "vic", "invoker": "ivy"}
#: Identities that hold a token but no role: ``nobody`` was never granted one; ``rex`` holds ``viewer`` until a
#: test revokes it (:func:`revoke_rex`).
NO_ROLE_USERS = ("nobody", "rex")


def tiny_model(c: float = 1.0):  # noqa: ANN201
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return LogisticRegression(C=c).fit(frame, (frame["a"] + frame["b"] > 0).astype(int))


@dataclass
class World:
    """The app, a client, and each user's bearer token."""

    client: TestClient
    secrets: dict[str, str]
    home: Path

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[user]}"}


def make_users(home: Path) -> dict[str, str]:
    from loopml.core import context, identity, tokens

    secrets: dict[str, str] = {}
    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        for user, roles in USERS.items():
            for role in roles:
                identity.grant(conn, user, role, actor="root")
            secrets[user] = tokens.create(conn, user, actor="root", description="test")[0]
        identity.grant(conn, "rex", "viewer", actor="root")
        for user in NO_ROLE_USERS:
            secrets[user] = tokens.create(conn, user, actor="root", description="no role")[0]
    return secrets


def revoke_rex(world: World) -> str:
    """Show that ``rex`` can read, then revoke its only role over the API; returns ``"rex"``."""
    assert world.client.get("/api/v1/models", headers=world.auth("rex")).status_code == 200
    revoked = world.client.delete("/api/v1/users/rex/roles/viewer", headers=world.auth("root"))
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True, revoked.text
    return "rex"


def _build(home: Path) -> Iterator[World]:
    from loopml import registry
    from loopml.api import create_app

    secrets = make_users(home)
    registry.register(tiny_model(1.0), "churn", metrics={"auc": 0.81}, actor="dana")
    registry.register(tiny_model(2.0), "churn", metrics={"auc": 0.84}, actor="tess")
    with TestClient(create_app(), base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield World(client, secrets, home)


@pytest.fixture
def world(home: Path) -> Iterator[World]:
    """A fresh world per test (for tests that change state)."""
    yield from _build(home)


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for a whole module of read-only (or refused) requests."""
    from loopml.config import reset_settings

    saved = {k: os.environ.get(k) for k in ("LOOPML_HOME", "LOOPML_USER", "LOOPML_DB", "LOOPML_ARTIFACTS")}
    home = tmp_path_factory.mktemp("world") / "loopml-home"
    os.environ.update(LOOPML_HOME=str(home), LOOPML_USER="alice")
    for key in ("LOOPML_DB", "LOOPML_ARTIFACTS"):
        os.environ.pop(key, None)
    reset_settings()
    try:
        yield from _build(home)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()
