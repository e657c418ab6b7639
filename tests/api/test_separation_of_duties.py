"""RELIABILITY §3 case 33: separation of duties holds over every API path."""

from __future__ import annotations

import pytest

from loopml.core import context


def _approve(world, user, version=2, body=None):  # noqa: ANN001, ANN202
    return world.client.post(f"/api/v1/models/churn/versions/{version}/approve", json=body or {"note": "lgtm"},
                             headers=world.auth(user))


def test_the_creator_cannot_approve_or_reject_its_own_version(world):
    for verb in ("approve", "reject"):
        response = world.client.post(f"/api/v1/models/churn/versions/2/{verb}", json={"note": "mine"},
                                     headers=world.auth("tess"))
        assert response.status_code == 403, response.text
        assert "separation of duties" in response.json()["message"]
    version = world.client.get("/api/v1/models/churn/versions/2", headers=world.auth("tess")).json()
    assert version["status"] == "PendingManualApproval" and version["created_by"] == "tess"


@pytest.mark.parametrize("body", [
    {"note": "mine", "created_by": "somebody-else"},
    {"note": "mine", "actor": "ann", "approver": "ann", "user": "ann"},
    {"note": "mine", "status": "Approved"},
])
@pytest.mark.parametrize("verb", ["approve", "reject", "reopen"])
def test_a_decision_with_unknown_fields_is_refused_whoever_sends_it(world, body, verb):
    """docs/api.md: request bodies refuse unknown fields (422), so an identity can never be smuggled in."""
    for user in ("tess", "ann"):
        response = world.client.post(f"/api/v1/models/churn/versions/2/{verb}", json=body, headers=world.auth(user))
        assert response.status_code == 422, response.text
        unknown = sorted(set(body) - {"note"})
        assert sorted(f["field"] for f in response.json()["fields"]) == unknown
    version = world.client.get("/api/v1/models/churn/versions/2", headers=world.auth("tess")).json()
    assert version["status"] == "PendingManualApproval" and version["created_by"] == "tess"


def test_another_approver_approves_and_the_approval_is_bound_to_the_digest(world):
    response = _approve(world, "ann")
    assert response.status_code == 200
    approved = response.json()
    assert approved["status"] == "Approved" and approved["approved_digest"] == approved["digest"]
    trail = world.client.get("/api/v1/models/churn/versions/2/trail", headers=world.auth("vic")).json()["items"]
    assert trail[-1]["actor"] == "ann" and trail[-1]["to"] == "Approved"
    events = world.client.get("/api/v1/audit?action=model.approve", headers=world.auth("vic")).json()["items"]
    assert [(e["actor"], e["resource"]) for e in events] == [("ann", "model:churn/2")]


def test_a_data_scientist_gets_403_and_an_approver_cannot_approve_twice(world):
    assert _approve(world, "dana", version=2).status_code == 403
    assert _approve(world, "ann", version=1).status_code == 200
    assert _approve(world, "root", version=1).status_code == 409


def test_register_takes_the_creator_from_the_token_never_the_body(world):
    store = context.get_artifacts()
    digest = world.client.get("/api/v1/models/churn/versions/1", headers=world.auth("dana")).json()["digest"]
    assert store.exists(digest)
    smuggled = world.client.post("/api/v1/models/churn/versions", headers=world.auth("tess"),
                                 json={"artifact": digest, "created_by": "ann"})
    assert smuggled.status_code == 422 and smuggled.json()["fields"][0]["field"] == "created_by"
    created = world.client.post("/api/v1/models/churn/versions", headers=world.auth("tess"),
                                json={"artifact": digest, "metrics": {"auc": 0.9}})
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["created_by"] == "tess" and new["version"] == 3 and new["status"] == "PendingManualApproval"
    assert _approve(world, "tess", version=3).status_code == 403
    assert _approve(world, "ann", version=3).status_code == 200


def test_changing_group_settings_to_allow_self_approval_needs_admin(world):
    body = {"allow_self_approval": True}
    assert world.client.put("/api/v1/models/churn/settings", json=body, headers=world.auth("tess")).status_code == 403
    assert world.client.put("/api/v1/models/churn/settings", json=body, headers=world.auth("root")).status_code == 200
    assert _approve(world, "tess").status_code == 200
