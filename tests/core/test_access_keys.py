"""AWS-style key pairs: issued once, sealed at rest, bound to their key id, revocable like any token."""

from __future__ import annotations

import base64
import os
import stat
from datetime import timedelta

import pytest
import sqlalchemy as sa

from loopml.core import access_keys, context, identity, tokens
from loopml.core._tables import tokens as tokens_table
from loopml.errors import PermissionDenied, ValidationError


@pytest.fixture
def people(home):  # noqa: ANN001, ANN201
    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "alice", "data-scientist", actor="root")
    return home


def issue(user: str = "alice", actor: str = "root", **kw: object) -> access_keys.KeyPair:
    with context.get_db().write() as conn:
        return access_keys.create(conn, user, actor=actor, **kw)  # type: ignore[arg-type]


def test_a_pair_is_shown_once_and_stored_sealed(people) -> None:  # noqa: ANN001
    pair = issue()
    assert pair.access_key_id.startswith("LKIA") and len(pair.access_key_id) == 20 and len(pair.secret_access_key) == 40
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(tokens_table).where(tokens_table.c.id == pair.token.id)).one()
        token, secret, roles = access_keys.secret_for(conn, pair.access_key_id)
    assert secret == pair.secret_access_key and token.user == "alice" and roles == frozenset({"data-scientist"})
    raw = (people / "loopml.db").read_bytes()
    assert pair.secret_access_key.encode() not in raw and pair.secret_access_key not in row.secret_box
    key_file = people / "keys" / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # the sealed secret is bound to its key id: copied onto another pair's row it does not open
    other = issue()
    with context.get_db().write() as conn:
        conn.execute(tokens_table.update().where(tokens_table.c.id == other.token.id).values(secret_box=row.secret_box))
    with context.get_db().read() as conn, pytest.raises(ValidationError, match="cannot be unsealed"):
        access_keys.secret_for(conn, other.access_key_id)


def test_revoked_expired_and_unknown_pairs_are_refused(people) -> None:  # noqa: ANN001
    pair = issue()
    with context.get_db().write() as conn:
        tokens.revoke(conn, pair.token.id, actor="alice")
    short = issue(expires_in=timedelta(seconds=1))
    with context.get_db().write() as conn:
        conn.execute(tokens_table.update().where(tokens_table.c.id == short.token.id).values(
            expires_at=short.token.created_at - timedelta(seconds=1)))
    for key_id in (pair.access_key_id, short.access_key_id, "LKIANOSUCHKEY0000000"):
        with context.get_db().read() as conn, pytest.raises(access_keys.UnknownAccessKey):
            access_keys.secret_for(conn, key_id)


def test_a_pair_is_no_bearer_token(people) -> None:  # noqa: ANN001
    from loopml.errors import AuthenticationError

    pair = issue()
    for secret in (pair.secret_access_key, pair.access_key_id):
        with context.get_db().read() as conn, pytest.raises(AuthenticationError):
            tokens.verify(conn, secret)


def test_who_may_issue(people) -> None:  # noqa: ANN001
    issue("alice", actor="alice")  # oneself
    with pytest.raises(PermissionDenied):
        issue("bob", actor="alice")  # someone else: admins only
    with pytest.raises(PermissionDenied):
        issue("carl", actor="carl")  # an identity with no role: nothing


def test_the_server_key_from_the_environment(people, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LOOPML_SECRETS_KEY", base64.b64encode(os.urandom(32)).decode())
    pair = issue()
    with context.get_db().read() as conn:
        assert access_keys.secret_for(conn, pair.access_key_id)[1] == pair.secret_access_key
    monkeypatch.setenv("LOOPML_SECRETS_KEY", base64.b64encode(os.urandom(32)).decode())  # another server key
    with context.get_db().read() as conn, pytest.raises(ValidationError, match="cannot be unsealed"):
        access_keys.secret_for(conn, pair.access_key_id)
    monkeypatch.setenv("LOOPML_SECRETS_KEY", "short")
    with pytest.raises(ValidationError, match="32 bytes in base64"):
        issue()


def test_cli_issues_and_lists_pairs(people, monkeypatch) -> None:  # noqa: ANN001
    import json

    from typer.testing import CliRunner

    from loopml.cli.main import app

    monkeypatch.setenv("LOOPML_USER", "root")
    made = CliRunner().invoke(app, ["tokens", "create", "--aws", "--user", "alice", "--json"])
    assert made.exit_code == 0, made.output
    doc = json.loads(made.output)
    assert doc["aws_access_key_id"].startswith("LKIA") and doc["aws_secret_access_key"]
    listed = json.loads(CliRunner().invoke(app, ["tokens", "list", "--all", "--json"]).output)
    assert [t["aws_access_key_id"] for t in listed if t["id"] == doc["id"]] == [doc["aws_access_key_id"]]
    assert doc["aws_secret_access_key"] not in json.dumps(listed)
