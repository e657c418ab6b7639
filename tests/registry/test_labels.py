"""Version tags and alias removal: validated, role-checked, audited, and never touching the approval."""

from __future__ import annotations

import pytest

from loopml import registry
from loopml.core import audit, context
from loopml.errors import NotFoundError, PermissionDenied, ValidationError
from loopml.registry import labels


@pytest.fixture
def approved(roles, model):  # noqa: ANN001, ANN201
    registry.register(model, "m", actor="alice")
    registry.approve("m", 1, actor="bob")
    return registry.get_version("m", 1)


def test_tags_change_without_voiding_the_approval(approved):
    tagged = labels.set_tags("m", 1, {"team": "growth", "ticket": "ML-7"}, actor="alice")
    assert tagged.tags == {"team": "growth", "ticket": "ML-7"} and tagged.is_deployable
    assert labels.delete_tag("m", 1, "ticket", actor="alice").tags == {"team": "growth"}
    with context.get_db().read() as conn:
        actions = [e.action for e in audit.events(conn, resource="model:m/1")]
    assert actions[:2] == ["model.tags", "model.tags"]


@pytest.mark.parametrize("tags", [{"": "x"}, {"a b": "x"}, {"../x": "y"}, {"k": "v" * 201}])
def test_bad_tags_are_refused_saying_what_is_allowed(approved, tags):
    with pytest.raises(ValidationError, match="tag"):
        labels.set_tags("m", 1, tags, actor="alice")


def test_roles_are_checked(approved):
    with pytest.raises(PermissionDenied):
        labels.set_tags("m", 1, {"a": "b"}, actor="carol")
    registry.set_alias("m", "production", 1, actor="bob")
    with pytest.raises(PermissionDenied):
        labels.delete_alias("m", "production", actor="carol")
    assert labels.delete_alias("m", "production", actor="bob") == 1
    with pytest.raises(NotFoundError, match="no alias"):
        labels.delete_alias("m", "production", actor="bob")
    with pytest.raises(NotFoundError, match="no tag"):
        labels.delete_tag("m", 1, "missing", actor="alice")
