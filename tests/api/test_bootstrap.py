"""RELIABILITY §3 case 37: unauthenticated submission, CSRF, bad Host, signup/bootstrap, default passwords."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loopml.api import check_bind, create_app
from loopml.core import context, identity
from loopml.errors import ValidationError

SUBMISSIONS = [
    ("POST", "/api/v1/jobs", {"entrypoint": "sh -c 'touch {canary}'"}),
    ("POST", "/api/v1/pipelines/run", {"pipeline": "/tmp/evil.py:p"}),
    ("POST", "/api/v1/executions/ex_1/resume", None),
    ("POST", "/api/v1/models/churn/versions", {"artifact": "sha256:" + "0" * 64}),
]
BOOTSTRAP = ["/api/v1/signup", "/api/v1/activate", "/api/v1/login", "/api/v1/bootstrap", "/api/v1/users",
             "/api/v1/tokens", "/api/v1/users/mallory/roles", "/login", "/signup", "/api/v1/setup"]


def _users() -> list:  # noqa: ANN202
    with context.get_db().read() as conn:
        return sorted((u.name, sorted(u.roles)) for u in identity.list_users(conn))


@pytest.mark.parametrize(("method", "path", "body"), SUBMISSIONS)
def test_unauthenticated_submission_is_refused_and_runs_nothing(shared_world, tmp_path, method, path, body):
    canary = tmp_path / "CANARY"
    if body and "entrypoint" in body:
        body = {"entrypoint": body["entrypoint"].format(canary=canary)}
    response = shared_world.client.request(method, path, json=body)
    assert response.status_code == 401
    cookie_post = shared_world.client.request(
        method, path, json=body, cookies={"session": "stolen", "loopml_token": "x"},
        headers={"Origin": "https://evil.example", "Content-Type": "application/json"})
    assert cookie_post.status_code == 401
    assert not canary.exists()


@pytest.mark.parametrize("path", BOOTSTRAP)
def test_there_is_no_signup_or_bootstrap_route(shared_world, path):
    before = _users()
    for headers in ({}, {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Authorization": "Bearer admin"}):
        response = shared_world.client.post(path, json={"user": "mallory", "password": "admin", "role": "admin"},
                                            headers=headers)
        assert response.status_code == 401
    as_viewer = shared_world.client.post(path, json={"user": "mallory", "role": "admin"},
                                         headers=shared_world.auth("vic"))
    assert as_viewer.status_code in (403, 404, 405)
    assert _users() == before and "mallory" not in str(before)


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "", "localhost.attacker.net"])
def test_a_bad_host_header_is_refused(shared_world, host):
    response = shared_world.client.get("/api/v1/me", headers={**shared_world.auth("vic"), "Host": host})
    assert response.status_code == 400
    doc = response.json()
    assert doc["error"] == "bad_request" and doc["error_id"] and "Host header" in doc["message"], doc


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8080", "localhost:1", "LOCALHOST", "[::1]:8080", "[::1]"])
def test_loopback_host_headers_are_accepted(shared_world, host):
    response = shared_world.client.get("/api/v1/me", headers={**shared_world.auth("vic"), "Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_single_user_mode_refuses_a_non_loopback_bind(host):
    with pytest.raises(ValidationError, match="loopback|127.0.0.1"):
        check_bind(host, single_user=True)
    check_bind(host, single_user=False)
    check_bind("127.0.0.1", single_user=True)
    check_bind("::1", single_user=True)


def test_single_user_mode_serves_only_loopback_clients(home: Path):
    app = create_app(single_user=True)
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 5000)) as local:
        assert local.get("/api/v1/me").json()["user"] == "alice"
    with TestClient(app, base_url="http://127.0.0.1", client=("10.1.2.3", 5000)) as remote:
        assert remote.get("/api/v1/me").status_code == 403


def test_a_fresh_install_has_no_way_in_and_creates_no_admin(home: Path):
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        for path in BOOTSTRAP:
            for body in ({"user": "admin", "password": "admin"}, {"username": "root", "role": "admin"}):
                assert client.post(path, json=body).status_code == 401
        assert client.get("/api/v1/users", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}).status_code == 401
    assert _users() == [("alice", ["data-scientist"])]  # the founder of the home, granted explicitly: no admin


def test_single_user_mode_grants_nothing_to_an_identity_without_a_role(home: Path, monkeypatch):
    from loopml.api.server import check_single_user
    from loopml.errors import PermissionDenied

    assert check_single_user() == "alice"  # alice founded this home
    monkeypatch.setenv("LOOPML_USER", "mallory")
    with pytest.raises(PermissionDenied, match="mallory has no role in this home.*loopml users grant mallory"):
        check_single_user()
    with TestClient(create_app(single_user=True), base_url="http://127.0.0.1", client=("127.0.0.1", 5000)) as local:
        assert local.get("/api/v1/me").json() == {"user": "mallory", "roles": [], "token_id": None}
        for path in ("/api/v1/models", "/api/v1/audit", "/api/v1/users"):
            response = local.get(path)
            assert response.status_code == 403 and "has no role" in response.json()["message"]
    assert _users() == [("alice", ["data-scientist"])]
