"""RELIABILITY §3 case 34: the path-traversal corpus against every path-like input of the API and UI."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.api._raw import raw_request

CANARY = "CANARY_SECRET_7f3a9c"
PAYLOADS = [
    "../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd", "..\\..\\..\\windows\\win.ini", "..%5c..%5c", "/etc/passwd",
    "file:///etc/passwd", "file:/etc/passwd", "//proc/self/root/etc/passwd", "http:///#/../../../../etc/",
    "a#/../../../etc/passwd", "a;/../../../etc/passwd", "dbfs:/", "ftp://127.0.0.1:2121/a",
    "s3://other-bucket/secret", "models:/victim/1", "mlflow-artifacts:/../../", "..%00/etc/passwd",
    "%c0%ae%c0%ae/", "..%c0%af", "{outside}/CANARY", "..", ".", "...",
]
#: Path templates with one path-like slot each (`{}`), and query/JSON slots.
PATH_SLOTS = [
    "/api/v1/models/{}", "/api/v1/models/{}/versions", "/api/v1/models/churn/versions/{}",
    "/api/v1/models/churn/versions/{}/card", "/api/v1/models/{}/versions/1/lineage",
    "/api/v1/models/churn/aliases/{}", "/api/v1/executions/{}", "/api/v1/executions/ex_1/steps/{}/logs",
    "/api/v1/datasets/{}", "/api/v1/datasets/{}/versions/1", "/api/v1/feature-groups/{}", "/api/v1/tokens/{}",
    "/api/v1/users/{}/roles", "/api/v1/runs/{}", "/api/v1/runs/run_1/metrics/{}", "/api/v1/endpoints/{}",
    "/api/v1/run-comparisons?ids={}", "/api/v1/monitoring/schedules/{}", "/api/v1/monitoring/executions/{}",
    "/api/v1/alarms/{}", "/api/v1/rules/{}", "/ui/{}", "/{}",
]
QUERY_SLOTS = [("/api/v1/audit", "resource"), ("/api/v1/audit", "actor"), ("/api/v1/audit", "action"),
               ("/api/v1/executions", "name"), ("/api/v1/tokens", "user"), ("/api/v1/runs", "experiment"),
               ("/api/v1/runs", "parent_id"), ("/api/v1/monitoring/executions", "endpoint"),
               ("/api/v1/events", "detail_type")]


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def guarded(shared_world, tmp_path):  # noqa: ANN001, ANN201
    world = shared_world
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "CANARY").write_text(CANARY)
    artifacts = world.home / "artifacts"
    before = (_tree_hash(artifacts), _tree_hash(outside), _audit_head(world))
    yield world, str(outside)
    assert (_tree_hash(artifacts), _tree_hash(outside), _audit_head(world)) == before
    assert sorted(p.name for p in outside.iterdir()) == ["CANARY"]


def _audit_head(world) -> int:  # noqa: ANN001
    from loopml.core import audit, context

    with context.get_db().read() as conn:
        return audit.head(conn)[0]


def _check(response) -> None:  # noqa: ANN001
    where = getattr(response, "target", None) or response.request.url
    assert 400 <= response.status_code < 500, (where, response.status_code, response.text[:200])
    assert CANARY not in response.text and "root:x:0:0" not in response.text


@pytest.mark.parametrize("slot", PATH_SLOTS)
def test_path_parameters_refuse_the_corpus(guarded, slot):
    world, outside = guarded
    for payload in PAYLOADS:
        payload = payload.replace("{outside}", outside)
        for method in ("GET", "DELETE", "POST", "PUT"):
            target = slot.replace("{}", payload)
            response = raw_request(world.client.app, method, target, headers=world.auth("root"),
                                   body={"role": "viewer", "version": 1, "note": "x"})
            _check(response)


@pytest.mark.parametrize(("path", "param"), QUERY_SLOTS)
def test_query_parameters_refuse_the_corpus(guarded, path, param):
    world, outside = guarded
    for payload in PAYLOADS:
        if payload in (".", "..."):
            continue
        response = world.client.get(path, params={param: payload.replace("{outside}", outside)},
                                    headers=world.auth("root"))
        _check(response)


def test_json_location_fields_accept_only_a_digest(guarded):
    world, outside = guarded
    for payload in [*PAYLOADS, "cas:sha256:" + "0" * 64, "sha256:" + "0" * 63, "SHA256:" + "a" * 64]:
        response = world.client.post("/api/v1/models/churn/versions", headers=world.auth("root"),
                                     json={"artifact": payload.replace("{outside}", outside)})
        _check(response)
        assert response.status_code == 422
    for field in ("source", "artifact_location", "path", "uri"):
        response = world.client.post("/api/v1/models/churn/versions", headers=world.auth("root"),
                                     json={"artifact": "sha256:" + "0" * 64, field: f"{outside}/CANARY"})
        assert response.status_code == 422


def test_an_unknown_digest_is_404_and_creates_nothing(guarded):
    world, _ = guarded
    response = world.client.post("/api/v1/models/churn/versions", headers=world.auth("root"),
                                 json={"artifact": "sha256:" + "ab" * 32})
    assert response.status_code == 404
