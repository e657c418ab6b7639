"""RELIABILITY §3 case 32: every role against every route matches the policy table exactly."""

from __future__ import annotations

import pytest

from loopml.api import policy
from tests.api._samples import SAMPLES
from tests.api.conftest import ROLE_USER

POLICY_REFUSAL = "needs one of the roles"


def _call(world, user, method, path, body):  # noqa: ANN001, ANN202
    return world.client.request(method, path, json=body, headers=world.auth(user))


@pytest.mark.parametrize("role", sorted(ROLE_USER))
def test_each_role_reaches_exactly_the_routes_its_policy_allows(world, role):
    user = ROLE_USER[role]
    wrong = []
    # reads first, then writes, deletes last so earlier calls still find their objects
    order = sorted(SAMPLES.items(), key=lambda kv: {"GET": 0, "POST": 1, "PUT": 1, "DELETE": 2}[kv[0][0]])
    for (method, template), (path, body) in order:
        response = _call(world, user, method, path, body)
        refused = response.status_code == 403 and POLICY_REFUSAL in response.json()["message"]
        allowed = role in policy.POLICY[(method, template)].roles
        assert response.status_code < 500, (method, path, response.text)
        if refused == allowed:
            wrong.append((method, template, response.status_code, response.json().get("message", "")[:80]))
    assert not wrong, f"{role} ({user}) does not match the policy table: {wrong}"


def test_reads_return_the_data_to_every_role(world):
    for user in ROLE_USER.values():
        listed = world.client.get("/api/v1/models/churn/versions", headers=world.auth(user)).json()
        assert [v["version"] for v in listed["items"]] == [2, 1]


def test_a_viewer_cannot_change_anything(world):
    before = world.client.get("/api/v1/audit?limit=1", headers=world.auth("root")).json()["items"][0]["seq"]
    for (method, template), (path, body) in SAMPLES.items():
        if method != "GET" and "viewer" not in policy.POLICY[(method, template)].roles:
            assert _call(world, "vic", method, path, body).status_code == 403
    own = world.client.get("/api/v1/me", headers=world.auth("vic")).json()["token_id"]
    assert _call(world, "vic", "DELETE", "/api/v1/tokens/tok_missing", None).status_code == 404
    after = world.client.get("/api/v1/audit?limit=1", headers=world.auth("root")).json()["items"][0]["seq"]
    assert after == before
    assert _call(world, "vic", "DELETE", f"/api/v1/tokens/{own}", None).status_code == 200


def test_tokens_are_owner_scoped(world):
    dana_token = world.client.get("/api/v1/me", headers=world.auth("dana")).json()["token_id"]
    ann_token = world.client.get("/api/v1/me", headers=world.auth("ann")).json()["token_id"]
    assert world.client.delete(f"/api/v1/tokens/{ann_token}", headers=world.auth("dana")).status_code == 403
    listed = world.client.get("/api/v1/tokens", headers=world.auth("dana")).json()["items"]
    assert [t["id"] for t in listed] == [dana_token]
    assert world.client.get("/api/v1/tokens?all_users=true", headers=world.auth("dana")).status_code == 403
    assert world.client.get("/api/v1/tokens?user=ann", headers=world.auth("dana")).status_code == 403
    everyone = world.client.get("/api/v1/tokens?all_users=true", headers=world.auth("root")).json()["items"]
    assert len(everyone) == 5 and all("hash" not in str(t) for t in everyone)


def test_list_routes_paginate(world):
    first = world.client.get("/api/v1/models/churn/versions?limit=1", headers=world.auth("vic")).json()
    second = world.client.get(f"/api/v1/models/churn/versions?limit=1&offset={first['next_offset']}",
                              headers=world.auth("vic")).json()
    assert [first["items"][0]["version"], second["items"][0]["version"]] == [2, 1]
    assert world.client.get("/api/v1/audit?limit=0", headers=world.auth("vic")).status_code == 422
    assert world.client.get("/api/v1/audit?limit=501", headers=world.auth("vic")).status_code == 422
