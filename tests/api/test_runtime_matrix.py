"""RELIABILITY case 41 on the SageMaker runtime routes (served by a middleware, so outside ``app.routes``): an
identity with a signed key pair but no role — never granted, or its last allowed role just revoked — is refused
on every runtime route before the endpoint is looked up, so a missing endpoint and an existing one look the same."""

from __future__ import annotations

import json

import pytest

from loopml.api import policy

ROW = json.dumps([{"a": 0.5, "b": -1.0}]).encode()


def _key(user: str) -> tuple[str, str]:
    from loopml.core import access_keys, context

    with context.get_db().write() as conn:
        pair = access_keys.create(conn, user, actor="root", description="runtime matrix")
    return pair.access_key_id, pair.secret_access_key


def _signed(world, key: tuple[str, str], path: str):  # noqa: ANN001, ANN202
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("POST", "http://127.0.0.1" + path, data=ROW, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(*key), "sagemaker", "eu-west-1").add_auth(request)
    return world.client.post(path, content=ROW, headers=dict(request.headers))


def _paths(name: str) -> list[str]:
    routes = sorted(template for method, template in policy.RUNTIME if method == "POST")
    assert len(routes) == len(policy.RUNTIME) == 2, policy.RUNTIME
    return [template.replace("{name}", name) for template in routes]


@pytest.mark.timeout(600)  # the world fixture builds an app and registers models: slow on a busy machine
@pytest.mark.parametrize("who", ["never granted", "role just revoked"])
def test_an_identity_without_a_role_is_refused_on_every_runtime_route(world, who):
    from loopml import registry, serve
    from loopml.core import context, identity

    registry.approve("churn", 1, actor="ann")
    serve.create("churn-live", "churn:1", start=False)
    user = "nobody" if who == "never granted" else "rex"
    key = _key(user)
    if who == "role just revoked":
        with context.get_db().write() as conn:
            identity.grant(conn, "rex", "data-scientist", actor="root")
        allowed = _signed(world, key, "/endpoints/ghost/invocations")
        assert allowed.headers.get("x-amzn-errortype") != "AccessDeniedException", allowed.text  # got past the policy
        revoked = world.client.delete("/api/v1/users/rex/roles/data-scientist", headers=world.auth("root"))
        assert revoked.status_code == 200, revoked.text
        with context.get_db().write() as conn:
            identity.revoke(conn, "rex", "viewer", actor="root")
    for name in ("churn-live", "ghost"):
        for path in _paths(name):
            response = _signed(world, key, path)
            assert response.status_code == 403, (path, response.text)
            assert response.headers["x-amzn-errortype"] == "AccessDeniedException", (path, response.text)
            assert f"User: {user} is not authorized" in response.json()["message"]


@pytest.mark.timeout(600)
def test_an_invoker_passes_the_policy_on_every_runtime_route_and_a_viewer_does_not(world):
    """ivy (invoker) gets past the policy on both routes — to the endpoint check, which refuses an endpoint that
    does not exist or is not running as AWS does — while vic (viewer) is refused before any lookup."""
    from loopml import registry, serve

    registry.approve("churn", 1, actor="ann")
    serve.create("churn-live", "churn:1", start=False)
    invoker, viewer = _key("ivy"), _key("vic")
    for name in ("churn-live", "ghost"):
        for path in _paths(name):
            allowed = _signed(world, invoker, path)
            assert allowed.status_code == 400, (path, allowed.text)
            assert allowed.headers["x-amzn-errortype"] == "ValidationError", (path, allowed.text)
            refused = _signed(world, viewer, path)
            assert refused.status_code == 403 and refused.headers["x-amzn-errortype"] == "AccessDeniedException"
            assert "User: vic is not authorized" in refused.json()["message"]
