"""Bad input: 422 with field-level messages, 404 for unknown ids, one JSON error shape, no raw driver text."""

from __future__ import annotations

from fastapi.testclient import TestClient

from loopml.api import create_app
from loopml.errors import StoreBusy


def test_malformed_bodies_get_422_naming_the_field(shared_world):
    w = shared_world
    cases = [
        ("/api/v1/users/zoe/roles", {"role": "emperor"}, "role"),
        ("/api/v1/users/zoe/roles", {}, "role"),
        ("/api/v1/models/churn/versions", {"artifact": "sha256:xyz"}, "artifact"),
        ("/api/v1/models/churn/versions", {"artifact": "sha256:" + "0" * 64, "metrics": {"auc": "high"}}, "metrics.auc"),
    ]
    for path, body, field in cases:
        response = w.client.post(path, json=body, headers=w.auth("root"))
        assert response.status_code == 422, response.text
        payload = response.json()
        assert payload["error"] == "invalid" and payload["error_id"]
        assert field in [f["field"] for f in payload["fields"]], payload
    garbage = w.client.post("/api/v1/models/churn/versions/1/approve", content=b"{not json",
                            headers={**w.auth("ann"), "Content-Type": "application/json"})
    assert garbage.status_code == 422


def test_unknown_ids_get_404_with_a_hint(shared_world):
    w = shared_world
    for path in ("/api/v1/models/nope", "/api/v1/models/churn/versions/99", "/api/v1/executions/ex_nope",
                 "/api/v1/datasets/nope", "/api/v1/feature-groups/nope", "/api/v1/nothing-here"):
        response = w.client.get(path, headers=w.auth("vic"))
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"] == "not_found" and response.json()["message"]


def test_store_busy_maps_to_503_with_retry_after_and_crashes_hide_their_text(shared_world):
    from fastapi import Depends

    from loopml.api.auth import authorize
    from loopml.api.policy import POLICY, Rule

    app = create_app()

    def busy() -> None:
        raise StoreBusy("the metadata database stayed locked; retry shortly")

    def crash() -> None:
        raise RuntimeError("psycopg.errors.UniqueViolation: duplicate key value (secret)")

    for name, fn in (("busy", busy), ("crash", crash)):
        app.router.add_api_route(f"/api/v1/test-{name}", fn, methods=["GET"], dependencies=[Depends(authorize)])
        POLICY[("GET", f"/api/v1/test-{name}")] = Rule(frozenset({"viewer"}))
    try:
        with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
            busy_response = client.get("/api/v1/test-busy", headers=shared_world.auth("vic"))
            crash_response = client.get("/api/v1/test-crash", headers=shared_world.auth("vic"))
    finally:
        POLICY.pop(("GET", "/api/v1/test-busy"))
        POLICY.pop(("GET", "/api/v1/test-crash"))
    assert busy_response.status_code == 503 and busy_response.headers["retry-after"] == "1"
    assert busy_response.json()["error"] == "busy"
    assert crash_response.status_code == 500
    assert "psycopg" not in crash_response.text and "secret" not in crash_response.text
    assert set(crash_response.json()) == {"error", "message", "error_id"}


def test_oversized_bodies_get_413_in_the_error_shape(shared_world):
    w = shared_world
    for headers in ({}, {"Transfer-Encoding": "chunked"}):
        body = b"x" * ((1 << 20) + 1)
        response = w.client.post("/api/v1/models/churn/versions/1/approve",
                                 content=iter([body]) if headers else body,
                                 headers={**w.auth("ann"), "Content-Type": "application/json", **headers})
        assert response.status_code == 413, response.text
        doc = response.json()
        assert set(doc) == {"error", "message", "error_id"} and doc["error"] == "too_large", doc
        assert str(1 << 20) in doc["message"]


_HUGE_INT = "9" * 4000
#: The hostile bodies of issue 12 / RELIABILITY case 45, sent to every control-plane route that reads a body.
HOSTILE_BODIES = {
    "huge integer literal": f'{{"version": {_HUGE_INT}, "note": {_HUGE_INT}, "value": {_HUGE_INT}}}'.encode(),
    "oversized integer literal": ('{"version": ' + "9" * 5000 + "}").encode(),
    "deeply nested": b'{"params": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "nested just under the parser limit": b'{"params": ' + b"[" * 900 + b"]" * 900 + b"}",
    "columns not a list": b'{"columns": "abc", "data": 5, "charts": "x", "params": 5}',
    "NaN and Infinity": b'{"version": NaN, "note": Infinity, "metrics": {"auc": -Infinity}}',
    "not JSON": b"{not json",
    "a JSON string": b'"approve"',
    "NUL and control characters": b'{"note": "a\u0000b\u001b[31m", "name": "x\u0000"}',
    "invalid UTF-8": b'{"note": "\xff\xfe"}',
    "empty": b"",
}


def _body_routes(app) -> list[tuple[str, str]]:  # noqa: ANN001
    from tests.api._samples import SAMPLES

    doc = app.openapi()
    out = []
    for (method, template), (path, _) in SAMPLES.items():
        if "requestBody" in doc["paths"].get(template, {}).get(method.lower(), {}):
            out.append((method, path))
    return out


def test_hostile_bodies_on_every_body_route_get_a_4xx_in_the_error_shape(shared_world):
    w = shared_world
    routes = _body_routes(w.client.app)
    assert len(routes) >= 10, routes
    failures = []
    for method, path in routes:
        if path.startswith("/api/v1/models/churn") and method == "DELETE":
            continue
        user = "ann" if path.endswith(("/approve", "/reject", "/reopen", "/aliases/production")) else "root"
        for name, body in HOSTILE_BODIES.items():
            response = w.client.request(method, path, content=body,
                                        headers={**w.auth(user), "Content-Type": "application/json"})
            doc = response.json()
            if not (400 <= response.status_code < 500 and {"error", "message", "error_id"} <= set(doc)):
                failures.append((method, path, name, response.status_code, response.text[:120]))
    assert not failures, failures


def test_responses_carry_security_headers(shared_world):
    response = shared_world.client.get("/ui/index.html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
