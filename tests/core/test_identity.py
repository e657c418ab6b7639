"""RELIABILITY §3 case 41 in embedded use: roles are only ever granted, the identity that creates a home is
granted its roles explicitly (recorded and audited), and an identity without a role is refused everywhere."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from loopml.core import audit, context, identity
from loopml.errors import ConflictError, PermissionDenied

ROOT = Path(__file__).resolve().parents[2]


def _users() -> list[tuple[str, list[str]]]:
    with context.get_db().read() as conn:
        return sorted((u.name, sorted(u.roles)) for u in identity.list_users(conn))


def _tiny_model():  # noqa: ANN202
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    return LogisticRegression().fit(frame, [0, 0, 1, 1])


def test_the_identity_that_creates_a_home_is_granted_its_roles_explicitly(home, monkeypatch):
    assert _users() == [("alice", ["data-scientist"])]
    with context.get_db().read() as conn:
        first = audit.events(conn, newest_first=False)[0]
        granted_by = conn.execute(sa.text("SELECT granted_by FROM user_roles")).scalar()
    assert (first.seq, first.actor, first.action, first.resource) == (1, "alice", "user.grant", "user:alice")
    assert first.details == {"role": "data-scientist", "reason": "created this home"}
    assert granted_by == "alice"
    context.reset()
    monkeypatch.setenv("LOOPML_USER", "bob")  # a later process founds nothing
    assert _users() == [("alice", ["data-scientist"])]


def test_roles_of_never_falls_back_to_a_default(home):
    with context.get_db().read() as conn:
        assert identity.roles_of(conn, "mallory") == frozenset()
        assert not identity.has_role(conn, "mallory", "viewer")
        assert not identity.has_role(conn, "mallory", "data-scientist")


def _create_home(user: str, db_url: str, home: str, ready: multiprocessing.synchronize.Event) -> None:
    os.environ.update(LOOPML_USER=user, LOOPML_DB=db_url, LOOPML_HOME=home)
    from loopml.config import reset_settings

    reset_settings()
    ready.wait(60)
    context.get_db()


def test_of_several_processes_creating_one_home_exactly_one_founds_it(tmp_path, db_url):
    spawn = multiprocessing.get_context("spawn")
    go = spawn.Event()
    procs = [spawn.Process(target=_create_home, args=(f"user{i}", db_url, str(tmp_path / "h"), go)) for i in range(4)]
    for proc in procs:
        proc.start()
    go.set()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    os.environ.update(LOOPML_DB=db_url, LOOPML_HOME=str(tmp_path / "h"), LOOPML_USER="late")
    try:
        context.reset()
        users = _users()
        with context.get_db().read() as conn:
            grants = audit.events(conn, action="user.grant")
    finally:
        for key in ("LOOPML_DB", "LOOPML_HOME", "LOOPML_USER"):
            os.environ.pop(key, None)
        context.reset()
    assert len(users) == 1 and users[0][1] == ["data-scientist"] and users[0][0].startswith("user")
    assert [(e.actor, e.details["role"]) for e in grants] == [(users[0][0], "data-scientist")]


def _acts(tmp_path: Path) -> dict[str, object]:
    """One embedded action per stage; each must be refused for an identity with no role."""
    from loopml import data, events, monitor, registry, serve, train

    return {
        "register a model": lambda: registry.register(_tiny_model(), "churn"),
        "register a dataset": lambda: data.register_dataset("customers", pd.DataFrame({"x": [1, 2]})),
        "track a run": lambda: train.create_run("exp"),
        "deploy": lambda: serve.create("churn-ep", "churn:1", start=False),
        "put an alarm": lambda: monitor.put_alarm("lat", source="endpoint:churn-ep", metric="p99", threshold=1.0),
        "put a rule": lambda: events.put_rule("retrain", {"source": ["loopml.monitor"]},
                                              [{"type": "log", "message": "x"}]),
        "approve": lambda: registry.approve("churn", 1),
    }


@pytest.mark.parametrize("who", ["never granted", "role just revoked"])
def test_an_identity_without_a_role_is_refused_by_every_stage(home, monkeypatch, tmp_path, who):
    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "rex", "data-scientist", actor="root")
    registry_version = __import__("loopml.registry", fromlist=["register"]).register(_tiny_model(), "churn")
    assert registry_version.version == 1
    user = "mallory"
    if who == "role just revoked":
        user = "rex"
        monkeypatch.setenv("LOOPML_USER", "rex")
        context.current_user()  # rex may act ...
        with context.get_db().write() as conn:
            identity.revoke(conn, "rex", "data-scientist", actor="root")
    monkeypatch.setenv("LOOPML_USER", user)
    with context.get_db().read() as conn:
        before = audit.head(conn)
    for action, act in _acts(tmp_path).items():
        with pytest.raises(PermissionDenied) as refused:
            act()
        message = refused.value.message
        assert f"{user} has no role in this home" in message or f"{user} has no role" in message, (action, message)
        assert f"an admin (root) can grant it with 'loopml users grant {user} " in message, (action, message)
    with context.get_db().read() as conn:
        assert audit.head(conn) == before, "a refused action changed something"


def test_the_cli_refuses_an_identity_without_a_role_in_one_line(home, tmp_path):
    context.get_db()  # alice founds the home
    csv = tmp_path / "d.csv"
    csv.write_text("x,y\n1,2\n")
    env = {**os.environ, "LOOPML_HOME": str(home), "LOOPML_USER": "mallory", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "loopml.cli.main", "data", "register", "ds", str(csv)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "mallory has no role in this home" in out.stderr
    assert "loopml users grant mallory data-scientist" in out.stderr
    listed = subprocess.run([sys.executable, "-m", "loopml.cli.main", "users"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert listed.returncode == 0 and listed.stdout.split() == ["alice", "data-scientist"]


def test_the_message_says_when_a_home_has_no_admin_yet(home, monkeypatch):
    context.get_db()  # alice founds the home
    monkeypatch.setenv("LOOPML_USER", "mallory")
    with pytest.raises(PermissionDenied, match="this home has no admin yet: its first admin names themself"):
        context.current_user()


def test_the_last_admin_cannot_be_revoked_so_nobody_can_claim_an_empty_throne(home):
    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")  # the first admin names themself (audited)
    with context.get_db().write() as conn, pytest.raises(ConflictError, match="only admin"):
        identity.revoke(conn, "root", "admin", actor="root")
    with context.get_db().write() as conn, pytest.raises(PermissionDenied, match="needs the 'admin' role"):
        identity.grant(conn, "mallory", "admin", actor="mallory")
    with context.get_db().write() as conn:
        identity.grant(conn, "ops", "admin", actor="root")
        assert identity.revoke(conn, "root", "admin", actor="ops")
    assert ("ops", ["admin"]) in _users() and "root" not in dict(_users())
