"""Registering, approving and querying model versions; separation of duties (case 33)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from loopml import registry
from loopml.core import audit, context
from loopml.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from tests.registry.conftest import tiny_model


def _count(table: str) -> int:
    with context.get_db().read() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def test_register_numbers_versions_and_records_who_and_what(any_home, model) -> None:
    first = registry.register(model, "churn", metrics={"auc": 0.81}, description="baseline")
    second = registry.register(tiny_model(2.0)[0], "churn")
    assert (first.version, second.version) == (1, 2)
    assert first.status == registry.PENDING and first.created_by == "alice"
    assert first.digest.startswith("sha256:") and first.digest != second.digest
    assert first.flavor == "sklearn"
    assert [c["name"] for c in first.signature["inputs"]] == ["a", "b"]
    assert registry.resolve("churn@latest").version == 2
    assert registry.resolve("churn:1").metrics == {"auc": 0.81}
    assert [v.version for v in registry.list_versions("churn")] == [2, 1]
    assert registry.latest_approved("churn") is None
    with pytest.raises(NotFoundError, match="no Approved version"):
        registry.resolve("churn@approved")


def test_separation_of_duties(roles, model, monkeypatch) -> None:
    version = registry.register(model, "churn")  # alice registers; alice is also an approver
    with pytest.raises(PermissionDenied, match="separation of duties: alice registered churn:1"):
        registry.approve("churn", 1)
    with pytest.raises(PermissionDenied, match="separation of duties"):
        registry.reject("churn", 1)
    with pytest.raises(PermissionDenied, match="needs the 'approver' role"):
        registry.approve("churn", 1, actor="carol")
    assert registry.get_version("churn", 1).status == registry.PENDING
    approved = registry.approve("churn", 1, actor="bob", note="looks good")
    assert approved.status == registry.APPROVED and approved.is_deployable
    assert approved.approved_digest == version.digest
    trail = registry.approval_trail("churn", 1)
    assert [(t["to"], t["actor"]) for t in trail] == [("PendingManualApproval", "alice"), ("Approved", "bob")]
    with context.get_db().read() as conn:
        actions = [e.action for e in audit.events(conn, resource="model:churn/1", newest_first=False)]
    assert actions == ["model.register", "model.approve"]


def test_group_settings_relax_the_rule_and_are_audited(roles, model) -> None:
    registry.register(model, "churn")
    with pytest.raises(PermissionDenied, match="needs the 'admin' role"):
        registry.set_group_settings("churn", allow_self_approval=True)
    registry.set_group_settings("churn", allow_self_approval=True, actor="root")
    assert registry.approve("churn", 1).status == registry.APPROVED  # alice approves her own now
    with context.get_db().read() as conn:
        event = audit.events(conn, action="model.group.settings")[0]
    assert event.actor == "root" and event.details["after"]["allow_self_approval"] is True


def test_auto_approval_is_recorded_under_the_automation_identity(roles, model) -> None:
    registry.create_group("fraud")
    registry.set_group_settings("fraud", auto_approve=True, actor="root")
    version = registry.register(model, "fraud")
    assert version.status == registry.APPROVED
    assert version.status_changed_by == "automation:auto-approval"


def test_illegal_transitions_and_missing_versions_change_nothing(roles, model) -> None:
    registry.register(model, "churn")
    registry.reject("churn", 1, actor="bob")
    before = _count("audit_events")
    with pytest.raises(ConflictError, match="is Rejected; from there it can go to PendingManualApproval"):
        registry.approve("churn", 1, actor="bob")
    with pytest.raises(NotFoundError, match="churn:9 does not exist"):
        registry.approve("churn", 9, actor="bob")
    with pytest.raises(NotFoundError, match="no model group 'nope'"):
        registry.resolve("nope@approved")
    with pytest.raises(ValidationError, match="not a model reference"):
        registry.resolve("bad ref!")
    assert _count("audit_events") == before
    assert registry.reopen("churn", 1, actor="bob").status == registry.PENDING


def test_previous_approved_is_the_rollback_target(roles, model) -> None:
    for c in (1.0, 2.0, 3.0):
        registry.register(tiny_model(c)[0], "churn")
    registry.approve("churn", 1, actor="bob")
    registry.approve("churn", 3, actor="bob")
    assert registry.latest_approved("churn").version == 3
    assert registry.previous_approved("churn", 3).version == 1
    assert registry.previous_approved("churn", 1) is None


def test_only_approved_versions_hold_an_alias_and_swaps_are_compare_and_set(roles, model) -> None:
    registry.register(model, "churn")
    registry.register(tiny_model(2.0)[0], "churn")
    with pytest.raises(ConflictError, match="only Approved versions"):
        registry.set_alias("churn", "production", 1, actor="bob")
    registry.approve("churn", 1, actor="bob")
    registry.approve("churn", 2, actor="bob")
    registry.set_alias("churn", "production", 1, actor="bob")
    registry.set_alias("churn", "production", 2, expected=1, actor="bob")
    with pytest.raises(ConflictError, match="now points at version 2, not 1"):
        registry.set_alias("churn", "production", 1, expected=1, actor="bob")
    assert registry.resolve("churn@production").version == 2


def test_delete_and_recreate_a_group(any_home, model) -> None:
    """Case 20: works on SQLite and PostgreSQL; old versions and aliases are gone."""
    from loopml.core import identity

    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "bob", "approver", actor="root")
    registry.register(model, "churn")
    registry.approve("churn", 1, actor="bob")
    registry.set_alias("churn", "production", 1, actor="bob")
    registry.delete_group("churn", actor="root")
    assert _count("model_versions") == _count("model_aliases") == _count("model_transitions") == 0
    assert registry.register(model, "churn").version == 1
    with pytest.raises(NotFoundError):
        registry.resolve("churn@production")


def test_invalid_group_names_are_refused(home, model) -> None:
    for bad in ("", "../etc", "a b", "x" * 201):
        with pytest.raises(ValidationError, match="model group name"):
            registry.register(model, bad)
    assert _count("model_groups") == 0
