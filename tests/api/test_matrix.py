"""RELIABILITY §3 cases 32 and 41: every role — and an identity with no role, never granted or just revoked —
against every route matches the policy table exactly, and a refusal never depends on whether the object exists."""

from __future__ import annotations

import pytest

from loopml.api import policy
from loopml.core import audit, context
from tests.api._samples import SAMPLES
from tests.api.conftest import ROLE_USER, revoke_rex

POLICY_REFUSAL = "needs one of the roles"
ME = policy.PREFIX + "/me"


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


def test_reads_return_the_data_to_every_role_that_reads(world):
    for role, user in ROLE_USER.items():
        listed = world.client.get("/api/v1/models/churn/versions", headers=world.auth(user))
        if role in policy.READ:
            assert [v["version"] for v in listed.json()["items"]] == [2, 1]
        else:  # an invoker calls endpoints and reads nothing
            assert listed.status_code == 403 and "items" not in listed.text, (role, listed.text)


def _no_role_user(world, who):  # noqa: ANN001, ANN202
    return "nobody" if who == "never granted" else revoke_rex(world)


def _head() -> int:
    with context.get_db().read() as conn:
        return audit.head(conn)[0]


@pytest.mark.parametrize("who", ["never granted", "role just revoked"])
def test_an_identity_without_a_role_reaches_only_me(world, who):
    user = _no_role_user(world, who)
    before = _head()
    reached = []
    for (method, template), (path, body) in SAMPLES.items():
        response = _call(world, user, method, path, body)
        if template == ME:
            assert response.status_code == 200 and response.json()["roles"] == [], response.text
            continue
        message = response.json().get("message", "")
        if response.status_code != 403 or POLICY_REFUSAL not in message or "has no role" not in message:
            reached.append((method, template, response.status_code, message[:80]))
    assert not reached, f"{user} ({who}) reached routes beyond /me: {reached}"
    assert _head() == before, "a refused request changed something"
    assert not (world.home / "logs").exists(), "a refused request started a worker"


def _absent(path: str) -> str:
    for present, absent in (("/churn-live", "/ghost-live"), ("/models/churn", "/models/ghost"),
                            ("/versions/1", "/versions/99"), ("/users/vic", "/users/ghost")):
        path = path.replace(present, absent)
    return path


def _denied_pairs(world):  # noqa: ANN001, ANN202
    """(user, method, template, path of an object that exists, path of one that does not, body) for every refusal."""
    token = world.client.get(ME, headers=world.auth("ann")).json()["token_id"]
    pairs = []
    for (method, template), (path, body) in SAMPLES.items():
        present = path.replace("tok_missing", token)
        absent = _absent(path).replace("tok_missing", "tok_ghost")
        rule = policy.POLICY[(method, template)]
        for user in [u for r, u in ROLE_USER.items() if r not in rule.roles] + ["nobody"]:
            if present != absent and template != ME:
                pairs.append((user, method, template, present, absent, body))
    return pairs


def test_a_refusal_is_the_same_whether_the_object_exists_or_not(world):
    from loopml import registry, serve

    registry.approve("churn", 1, actor="ann")
    serve.create("churn-live", "churn:1", start=False)
    pairs = _denied_pairs(world)
    assert len(pairs) > 40
    for user, method, template, present, absent, body in pairs:
        seen = [_call(world, user, method, path, body) for path in (present, absent)]
        assert [r.status_code for r in seen] == [403, 403], (user, method, present, [r.text for r in seen])
        assert seen[0].json()["message"] == seen[1].json()["message"], (user, method, template)


@pytest.mark.parametrize(("user", "method", "path", "body"), [
    ("vic", "POST", "/api/v1/models/churn/versions", {"bogus": 1, "artifact": "not a digest"}),
    ("vic", "POST", "/api/v1/models/churn/versions/0/approve", {"note": 5}),
    ("dana", "POST", "/api/v1/users/zoe/roles", {"role": "emperor"}),
    ("nobody", "POST", "/api/v1/endpoints", {"name": "UPPER CASE", "model": 7}),
    ("nobody", "GET", "/api/v1/audit?limit=-5", None),
    ("ann", "POST", "/api/v1/endpoints/churn-live/deployments", b"{not json"),
])
def test_a_refused_caller_gets_403_whatever_it_sends(shared_world, user, method, path, body):
    w = shared_world
    if isinstance(body, bytes):
        response = w.client.request(method, path, content=body,
                                    headers={**w.auth(user), "Content-Type": "application/json"})
    else:
        response = w.client.request(method, path, json=body, headers=w.auth(user))
    assert response.status_code == 403 and POLICY_REFUSAL in response.json()["message"], response.text


def test_a_viewer_cannot_change_anything(world):
    before = world.client.get("/api/v1/audit?limit=1", headers=world.auth("root")).json()["items"][0]["seq"]
    for (method, template), (path, body) in SAMPLES.items():
        if method != "GET" and "viewer" not in policy.POLICY[(method, template)].roles:
            assert _call(world, "vic", method, path, body).status_code == 403
    own = world.client.get("/api/v1/me", headers=world.auth("vic")).json()["token_id"]
    assert _call(world, "vic", "DELETE", "/api/v1/tokens/tok_missing", None).status_code == 403
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
    assert len(everyone) == 8 and all("hash" not in str(t) for t in everyone)
    assert world.client.delete("/api/v1/tokens/tok_ghost", headers=world.auth("dana")).status_code == 403
    assert world.client.delete("/api/v1/tokens/tok_ghost", headers=world.auth("root")).status_code == 404


def test_list_routes_paginate(world):
    first = world.client.get("/api/v1/models/churn/versions?limit=1", headers=world.auth("vic")).json()
    second = world.client.get(f"/api/v1/models/churn/versions?limit=1&offset={first['next_offset']}",
                              headers=world.auth("vic")).json()
    assert [first["items"][0]["version"], second["items"][0]["version"]] == [2, 1]
    assert world.client.get("/api/v1/audit?limit=0", headers=world.auth("vic")).status_code == 422
    assert world.client.get("/api/v1/audit?limit=501", headers=world.auth("vic")).status_code == 422
