from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from loopml.core import clock, context, tokens
from loopml.core._tables import tokens as tokens_table
from loopml.errors import AuthenticationError, PermissionDenied, ValidationError


def test_a_token_is_stored_only_as_its_sha256(home):
    with context.get_db().write() as conn:
        secret, token = tokens.create(conn, "alice", actor="alice", description="laptop")
    with context.get_db().read() as conn:
        stored = conn.execute(sa.select(tokens_table)).one()
        assert tokens.verify(conn, secret).user == "alice"
    assert secret.startswith("lml_") and len(secret) > 40
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(tuple(stored))
    assert token.is_active()


def test_expired_and_revoked_tokens_are_refused(home):
    with context.get_db().write() as conn:
        short, short_token = tokens.create(conn, "alice", actor="alice", expires_in=timedelta(seconds=1))
        kept, kept_token = tokens.create(conn, "alice", actor="alice")
        tokens.revoke(conn, kept_token.id, actor="alice")
    assert not short_token.is_active(clock.now() + timedelta(seconds=2))
    with context.get_db().read() as conn:
        with pytest.raises(AuthenticationError, match="revoked"):
            tokens.verify(conn, kept)
        with pytest.raises(AuthenticationError, match="not known"):
            tokens.verify(conn, "lml_nope")
    with context.get_db().write() as conn:
        conn.execute(tokens_table.update().where(tokens_table.c.id == short_token.id)
                     .values(expires_at=clock.now() - timedelta(seconds=1)))
    with context.get_db().read() as conn, pytest.raises(AuthenticationError, match="expired"):
        tokens.verify(conn, short)


def test_only_admins_create_list_or_revoke_for_others(home):
    from loopml.core import identity

    with context.get_db().write() as conn:
        with pytest.raises(PermissionDenied, match="admin"):
            tokens.create(conn, "bob", actor="alice")
        with pytest.raises(PermissionDenied, match="bob has no role"):
            tokens.create(conn, "bob", actor="bob")
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "bob", "viewer", actor="root")
        _, bobs = tokens.create(conn, "bob", actor="bob")
    with context.get_db().write() as conn, pytest.raises(PermissionDenied):
        tokens.revoke(conn, bobs.id, actor="alice")
    with context.get_db().read() as conn, pytest.raises(PermissionDenied):
        tokens.list_tokens(conn, user=None, actor="alice")


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(days=-1), timedelta(days=99999)])
def test_a_lifetime_out_of_range_is_refused(home, lifetime):
    with context.get_db().write() as conn, pytest.raises(ValidationError, match="lifetime"):
        tokens.create(conn, "alice", actor="alice", expires_in=lifetime)


def test_token_changes_are_audited(home):
    from loopml.core import audit

    with context.get_db().write() as conn:
        _, token = tokens.create(conn, "alice", actor="alice")
        tokens.revoke(conn, token.id, actor="alice")
    with context.get_db().read() as conn:
        actions = [e.action for e in audit.events(conn, resource=f"token:{token.id}", newest_first=False)]
    assert actions == ["token.create", "token.revoke"]


def test_the_api_refuses_revoked_and_expired_tokens(world):
    me = world.client.get("/api/v1/me", headers=world.auth("dana"))
    assert me.status_code == 200 and me.json()["user"] == "dana"
    token_id = me.json()["token_id"]
    assert world.client.delete(f"/api/v1/tokens/{token_id}", headers=world.auth("dana")).status_code == 200
    refused = world.client.get("/api/v1/me", headers=world.auth("dana"))
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    assert refused.headers["www-authenticate"] == "Bearer"
    with context.get_db().write() as conn:
        conn.execute(tokens_table.update().where(tokens_table.c.user_name == "vic")
                     .values(expires_at=clock.now() - timedelta(minutes=1)))
    assert world.client.get("/api/v1/me", headers=world.auth("vic")).status_code == 401
