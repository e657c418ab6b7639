from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from loopml.core import context
from loopml.core._tables import audit_events
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.features import (
    FeatureGroup,
    describe_feature_group,
    get_feature_group,
    list_feature_groups,
    register_feature_group,
)
from tests.features.conftest import customer_group


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"name": "Bad Name"}, "feature group name 'Bad Name' is not allowed"),
    ({"entity_keys": []}, "at least one entity key"),
    ({"entity_keys": {"id": "float64"}}, "entity key 'id' has type 'float64'; allowed types"),
    ({"features": {}}, "at least one feature"),
    ({"features": {"x": "decimal"}}, "feature 'x' has type 'decimal'"),
    ({"features": {"id": "float64"}}, r"column names \['id'\] are used twice"),
    ({"features": {"_write_ts": "float64"}}, "not one of"),
    ({"ttl": timedelta(0)}, "ttl must be a positive timedelta"),
])
def test_definition_is_checked_when_built(kwargs: dict, match: str) -> None:
    args = {"name": "g", "entity_keys": ["id"], "event_time": "ts", "features": {"x": "float64"}, **kwargs}
    with pytest.raises(ValidationError, match=match):
        FeatureGroup(**args)


def test_definition_round_trips_and_hash_is_stable() -> None:
    fg = customer_group(ttl=timedelta(hours=6))
    again = FeatureGroup.from_dict(fg.to_dict())
    assert again == fg and again.definition_hash == fg.definition_hash
    assert customer_group().definition_hash != fg.definition_hash


def test_register_is_idempotent_and_versions_by_hash(home) -> None:
    first = register_feature_group(customer_group())
    assert first.version == 1
    assert register_feature_group(customer_group()).version == 1
    wider = FeatureGroup("customer", ["customer_id"], "ts",
                         {"spend": "float64", "orders": "int64", "segment": "string", "visits": "int32"})
    assert register_feature_group(wider).version == 2
    assert get_feature_group("customer").group == wider
    assert get_feature_group("customer", 1).group == customer_group()
    assert register_feature_group(customer_group()).version == 1  # an old definition is not re-added


@pytest.mark.parametrize("change", [
    {"entity_keys": {"customer_id": "string"}},
    {"event_time": "event_ts"},
    {"features": {"spend": "int64", "orders": "int64", "segment": "string"}},
])
def test_incompatible_new_version_is_refused(home, change: dict) -> None:
    register_feature_group(customer_group())
    args = {"name": "customer", "entity_keys": ["customer_id"], "event_time": "ts",
            "features": {"spend": "float64", "orders": "int64", "segment": "string"}, **change}
    with pytest.raises(ConflictError, match="cannot change"):
        register_feature_group(FeatureGroup(**args))


def test_list_describe_and_audit(home) -> None:
    register_feature_group(customer_group())
    register_feature_group(customer_group("store"))
    assert [i.name for i in list_feature_groups()] == ["customer", "store"]
    stats = describe_feature_group("customer").to_dict()
    assert stats["owner"] == "team-growth" and stats["ingests"] == 0 and stats["created_by"] == "alice"
    with context.get_db().read() as conn:
        actions = conn.execute(sa.select(audit_events.c.action, audit_events.c.resource)).all()
    assert ("feature_group.register", "feature_group:customer@1") in actions


def test_unknown_group_says_what_exists(home) -> None:
    register_feature_group(customer_group())
    with pytest.raises(NotFoundError, match=r"'nope' is not registered; registered groups are \['customer'\]"):
        get_feature_group("nope")
