"""RELIABILITY §3 cases 31 and 41: deny by default — every route has a policy, nothing answers without a token,
and nothing but ``/me`` answers a token whose identity holds no role (never granted, or just revoked)."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from loopml.api import create_app, policy
from tests.api._samples import SAMPLES
from tests.api.conftest import revoke_rex


def _api_routes(app):  # noqa: ANN001, ANN202
    return [(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods]


def test_every_route_has_a_policy_entry(home):
    app = create_app()
    routes = _api_routes(app)
    missing = [(m, p) for m, p in routes if policy.rule_for(m, p) is None and not policy.is_public(p)]
    assert not missing, f"routes without an authorization policy: {missing}"
    public = {(m, p) for m, p in routes if policy.is_public(p)}
    assert {p for _, p in public} == policy.PUBLIC_PATHS
    assert set(routes) - public == set(policy.POLICY), "the policy table names routes that do not exist"
    assert set(SAMPLES) == set(policy.POLICY), "tests/api/_samples.py must cover every route"


def test_a_route_added_without_a_policy_is_refused(shared_world):
    world = shared_world
    from fastapi import Depends

    from loopml.api.auth import authorize

    app = create_app()
    app.router.add_api_route(policy.PREFIX + "/forgotten", lambda: {"secret": 1}, methods=["GET"],
                             dependencies=[Depends(authorize)])
    with TestClient(app, base_url="http://127.0.0.1") as client:
        response = client.get(policy.PREFIX + "/forgotten", headers=world.auth("root"))
    assert response.status_code == 403
    assert "no authorization policy" in response.json()["message"]


def _variants(path: str) -> list[str]:
    return [path, path + "/", path.upper(), path.replace("/api/", "/API/"), path.replace("v1", "%76%31"),
            path.replace("/api/v1", "/api/v2"), path.replace("/api/v1", "/ajax-api/v1")]


CASES = sorted({(m, v) for (m, _), (path, _) in SAMPLES.items() for v in _variants(path)}
               | {(m, path) for path, _ in SAMPLES.values() for m in ("HEAD", "OPTIONS", "PATCH", "TRACE")})


@pytest.fixture(scope="module")
def anonymous(shared_world):  # noqa: ANN001, ANN201
    return shared_world.client


@pytest.mark.parametrize(("method", "path"), CASES)
def test_no_route_answers_without_a_token(anonymous, method, path):
    response = anonymous.request(method, path, json={"note": "x"} if method in ("POST", "PUT") else None)
    assert response.status_code in (400, 401), (method, path, response.status_code)
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    assert "items" not in response.text


@pytest.mark.parametrize("header", ["Basic cm9vdDpyb290", "Bearer", "Bearer lml_guess", "Token abc", "bearer  "])
def test_bad_credentials_get_401(anonymous, header):
    response = anonymous.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_the_public_allowlist_is_short_and_data_free(anonymous):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert anonymous.get("/readyz").status_code == 200
    assert anonymous.get("/ui/index.html").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 401
    assert anonymous.get("/docs").status_code == 401
    assert policy.PUBLIC_PATHS == {"/healthz", "/readyz", "/", "/ui", "/favicon.ico"}


def test_only_me_admits_an_identity_without_a_role():
    assert [key for key, rule in policy.POLICY.items() if rule.admits(frozenset())] == [("GET", policy.PREFIX + "/me")]
    assert not any(rule.admits(frozenset({"emperor"})) for rule in policy.POLICY.values())


@pytest.fixture(scope="module")
def roleless(shared_world):  # noqa: ANN001, ANN201
    """The shared world's two identities without a role: ``nobody`` (never granted) and ``rex`` (just revoked)."""
    revoke_rex(shared_world)
    return shared_world


@pytest.mark.parametrize("user", ["nobody", "rex"])
@pytest.mark.parametrize(("method", "template"), sorted(SAMPLES))
def test_no_role_means_no_route_but_me(roleless, user, method, template):
    path, body = SAMPLES[(method, template)]
    response = roleless.client.request(method, path, json=body, headers=roleless.auth(user))
    if template == policy.PREFIX + "/me":
        assert response.status_code == 200 and response.json()["roles"] == [], response.text
        return
    assert response.status_code == 403 and "has no role" in response.json()["message"], response.text
    if method == "GET":  # HEAD is not served (405), never answered with data
        head = roleless.client.head(path, headers=roleless.auth(user))
        assert head.status_code in (403, 405) and not head.content


def test_an_invoker_is_admitted_by_me_and_the_runtime_routes_only():
    invoker = frozenset({policy.INVOKER})
    assert [key for key, rule in policy.POLICY.items() if rule.admits(invoker)] == [("GET", policy.PREFIX + "/me")]
    assert all(rule.admits(invoker) for rule in policy.RUNTIME.values())
    assert not any(rule.admits(frozenset({"viewer"})) for rule in policy.RUNTIME.values())


@pytest.mark.parametrize(("method", "template"), sorted(SAMPLES))
def test_an_invoker_reaches_no_route_but_me(shared_world, method, template):
    path, body = SAMPLES[(method, template)]
    response = shared_world.client.request(method, path, json=body, headers=shared_world.auth("ivy"))
    if template == policy.PREFIX + "/me":
        assert response.status_code == 200 and response.json()["roles"] == ["invoker"], response.text
        return
    message = response.json()["message"]
    assert response.status_code == 403 and "needs one of the roles" in message and "ivy has ['invoker']" in message, \
        response.text
    if method == "GET":
        head = shared_world.client.head(path, headers=shared_world.auth("ivy"))
        assert head.status_code in (403, 405) and not head.content
