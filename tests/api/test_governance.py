"""Governance actions are core functions: the CLI and the REST API call the same ones, with the same options."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from loopml.cli.main import run
from loopml.core import context, governance
from loopml.errors import PermissionDenied, ValidationError
from tests.api.conftest import World


def _truncate_tail(keep: int) -> None:
    """What an attacker with owner rights would do: drop the guard, cut the tail, rewrite the head to match."""
    db = context.get_db()
    with db.write() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq > {keep}")
        last = conn.execute(sa.text(f"SELECT hash FROM audit_events WHERE seq = {keep}")).scalar()
        conn.execute(sa.text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": keep, "h": last})


def test_audit_verify_with_an_anchor_answers_the_same_in_cli_and_api(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    seq, digest = governance.audit_anchor()
    anchor = f"{seq}:{digest}"
    api = world.client.get("/api/v1/audit/verify", params={"anchor": anchor}, headers=world.auth("root"))
    assert api.status_code == 200 and api.json()["ok"] is True, api.text
    assert run(["audit", "verify", "--anchor", anchor]) == 0
    _truncate_tail(seq - 3)
    assert governance.verify_audit()[0].ok  # consistent on its own...
    api = world.client.get("/api/v1/audit/verify", params={"anchor": anchor}, headers=world.auth("root"))
    assert api.status_code == 200 and api.json()["ok"] is False and api.json()["first_broken"] == seq
    capsys.readouterr()
    assert run(["audit", "verify", "--anchor", anchor]) == 1  # ...but not with the kept anchor
    assert f"BROKEN at event {seq}" in capsys.readouterr().out


@pytest.mark.parametrize("anchor", ["12", "x:" + "0" * 64, "3:abc", "3:" + "G" * 64])
def test_a_malformed_anchor_gets_the_same_message_from_cli_and_api(
        world: World, anchor: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        governance.parse_anchor(anchor)
    assert "must be SEQ:HASH as printed by 'loopml audit anchor'" in caught.value.message
    api = world.client.get("/api/v1/audit/verify", params={"anchor": anchor}, headers=world.auth("root"))
    assert api.status_code == 422 and caught.value.message in api.text, api.text
    capsys.readouterr()
    assert run(["audit", "verify", "--anchor", anchor]) == 2
    assert caught.value.message in capsys.readouterr().err


def test_grant_and_revoke_through_either_interface_land_in_the_same_records(world: World) -> None:
    granted = world.client.post("/api/v1/users/zed/roles", json={"role": "viewer"}, headers=world.auth("root"))
    assert granted.status_code == 201 and granted.json()["granted"] is True
    assert governance.grant_role("zed", "viewer", actor="root") is False  # already holds it
    assert {u.name: u.roles for u in governance.list_users()}["zed"] == frozenset({"viewer"})
    assert governance.revoke_role("zed", "viewer", actor="root") is True
    revoked = world.client.delete("/api/v1/users/zed/roles/viewer", headers=world.auth("root"))
    assert revoked.status_code == 200 and revoked.json()["revoked"] is False
    actions = [e.action for e in governance.audit_log(resource="user:zed", newest_first=False)]
    assert actions == ["user.grant", "user.revoke"]


def test_token_create_and_revoke_are_core_functions(world: World, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="expires_days"):
        governance.create_token("dana", actor="dana", expires_days=float("nan"))
    with pytest.raises(PermissionDenied):
        governance.create_token("ann", actor="dana")
    secret, token = governance.create_token("dana", actor="dana", expires_days=1, description="notebook")
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()["user"] == "dana"
    listed = world.client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).json()["items"]
    assert token.id in [t["id"] for t in listed]
    assert governance.revoke_token(token.id, actor="dana").revoked_at is not None
    assert world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
