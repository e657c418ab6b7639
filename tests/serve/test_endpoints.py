"""Endpoints as managed processes: lifecycle, approval gate, capture, restart, async queue, serverless."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from loopml import serve
from loopml.errors import PermissionDenied

ROW = json.dumps([{"a": 0.5, "b": -1.0, "c": 2.0}]).encode()


def _kill_endpoint(name: str) -> None:
    os.kill(serve.get(name).runtime["pid"], signal.SIGKILL)
    time.sleep(0.5)


def test_only_approved_versions_deploy_and_admin_override_is_audited(served, monkeypatch) -> None:  # noqa: ANN001
    from loopml.core import audit, context

    version = served(approve=False)
    with pytest.raises(PermissionDenied, match="PendingManualApproval"):
        serve.create("ep", f"churn:{version.version}", start=False)
    with pytest.raises(PermissionDenied, match="admin"):
        serve.create("ep", f"churn:{version.version}", allow_unapproved=True, start=False)
    monkeypatch.setenv("LOOPML_USER", "root")
    serve.create("ep", f"churn:{version.version}", allow_unapproved=True, start=False)
    with context.get_db().read() as conn:
        actions = [e.action for e in audit.events(conn)]
    assert "endpoint.deploy_unapproved" in actions and "endpoint.create" in actions


@pytest.mark.slow
def test_realtime_endpoint_lifecycle_capture_and_restart(served, tmp_path: Path) -> None:  # noqa: ANN001
    from loopml.serve import capture

    version = served()
    serve.create("churn-rt", "churn@approved", capture_percent=100)
    resp = serve.invoke("churn-rt", ROW)
    assert resp.status_code == 200 and resp.headers["x-model-digest"] == version.digest
    assert serve.invoke("churn-rt", b'[{"a": "x"}]').status_code == 422
    described = serve.describe("churn-rt")
    assert described["status"] == "InService" and described["live"]["variants"][0]["requests"] == 2
    assert serve.flush_capture("churn-rt") >= 1
    records = capture.read_records("churn-rt")
    assert len(records) == 1 and records[0]["eventMetadata"]["eventId"] == resp.headers["x-event-id"]
    labels = tmp_path / "labels.csv"
    labels.write_text(f"eventId,label\n{resp.headers['x-event-id']},1\n")
    capture.upload_ground_truth("churn-rt", labels)
    assert capture.read_ground_truth("churn-rt") == {resp.headers["x-event-id"]: "1"}
    _kill_endpoint("churn-rt")
    assert serve.describe("churn-rt")["status"] == "OutOfService"
    assert serve.start_all() == ["churn-rt"]
    assert serve.invoke("churn-rt", ROW).status_code == 200
    serve.delete("churn-rt")
    assert serve.list_endpoints() == []


@pytest.mark.slow
def test_async_requests_survive_a_killed_endpoint_with_exactly_one_result(served) -> None:  # noqa: ANN001
    from loopml.serve import async_queue

    served()
    ep = serve.create("churn-async", "churn@approved", mode="async", idle_seconds=2, max_attempts=2)
    url = ep.runtime["url"]
    with httpx.Client(base_url=url, timeout=60) as client:  # each 202 waits for a durable commit
        ids = [client.post("/async-invocations", content=ROW).json()["inference_id"] for _ in range(40)]
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            same = list(pool.map(lambda _: client.post("/async-invocations", content=ROW, headers={
                "x-amzn-sagemaker-inferenceid": "key-1"}).json()["inference_id"], range(5)))
        poison = client.post("/async-invocations", content=b'[{"a": "x", "b": 1, "c": 1}]').json()["inference_id"]
        expired = client.post("/async-invocations", content=ROW,
                              headers={"x-amzn-sagemaker-requestttlseconds": "0.001"}).json()["inference_id"]
    assert len(set(same)) == 1
    _kill_endpoint("churn-async")
    serve.start_all()
    deadline = time.monotonic() + 60
    while async_queue.backlog("churn-async") and time.monotonic() < deadline:
        time.sleep(0.2)
    final = {r.id: r for r in async_queue.list_requests("churn-async")}
    assert len(final) == 43
    assert all(final[i].status == "Completed" and final[i].output_digest for i in ids + same)
    assert final[poison].status == "Failed" and "expects" in (final[poison].error or "")
    assert final[expired].status == "Expired" and final[expired].output_digest is None
    assert json.loads(async_queue.result(ids[0]))["predictions"] in ([0], [1])
    time.sleep(3.5)
    live = serve.describe("churn-async")["live"]
    assert live["variants"][0]["replicas"] == 0
    serve.delete("churn-async")


@pytest.mark.slow
def test_serverless_cold_start_is_measured_and_idle_scales_to_zero(served) -> None:  # noqa: ANN001
    served()
    ep = serve.create("churn-sl", "churn@approved", mode="serverless", idle_seconds=8)
    assert serve.describe("churn-sl")["live"]["variants"][0]["replicas"] == 0
    started = time.perf_counter()
    assert httpx.post(ep.runtime["url"] + "/invocations", content=ROW, timeout=30).status_code == 200
    cold = time.perf_counter() - started
    live = serve.describe("churn-sl")["live"]["variants"][0]
    assert live["replicas"] == 1 and len(live["cold_starts_s"]) == 1 and live["cold_starts_s"][0] <= cold
    deadline = time.monotonic() + 120  # 8 s idle, then the drain: generous for a busy machine
    while serve.describe("churn-sl")["live"]["variants"][0]["replicas"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert serve.describe("churn-sl")["live"]["variants"][0]["replicas"] == 0
    serve.delete("churn-sl")


@pytest.mark.slow
def test_multi_model_endpoint_routes_by_header_and_path(served) -> None:  # noqa: ANN001
    v1, v2 = served(0), served(1)
    ep = serve.create("churn-mm", f"churn:{v1.version}", targets=[f"churn:{v2.version}"])
    url = ep.runtime["url"]
    one = httpx.post(url + "/invocations", content=ROW, headers={"x-target-model": v2.name}, timeout=60)  # loads v2
    assert one.status_code == 200 and one.headers["x-model-digest"] == v2.digest
    two = httpx.post(url + f"/models/{v1.name}/invoke", content=ROW, timeout=60)
    assert two.status_code == 200 and two.headers["x-model-digest"] == v1.digest
    assert httpx.post(url + "/invocations", content=ROW, headers={"x-target-model": "other:9"}).status_code == 404
    serve.delete("churn-mm")


@pytest.mark.slow
def test_endpoint_joins_online_features_for_entity_only_requests(served) -> None:  # noqa: ANN001
    from datetime import UTC, datetime

    import pandas as pd

    from loopml.features import FeatureGroup, ingest, register_feature_group
    from tests.serve.conftest import fitted

    served(0)
    model, _ = fitted(0)
    register_feature_group(FeatureGroup("customer", entity_keys=["customer_id"], event_time="ts",
                                        features={"a": "float64", "b": "float64", "c": "float64"}))
    stored = pd.DataFrame({"customer_id": [1, 2], "ts": [datetime(2026, 1, 1, tzinfo=UTC)] * 2,
                           "a": [3.0, -3.0], "b": [3.0, -3.0], "c": [0.0, 0.0]})
    ingest("customer", stored)
    ep = serve.create("churn-fs", "churn@approved", feature_group="customer")
    resp = httpx.post(ep.runtime["url"] + "/invocations", json=[{"customer_id": 1}, {"customer_id": 2}])
    assert resp.status_code == 200, resp.text
    assert resp.json()["predictions"] == model.predict(stored[["a", "b", "c"]]).tolist()
    unknown = httpx.post(ep.runtime["url"] + "/invocations", json=[{"customer_id": 99}])
    assert unknown.status_code == 422 and "no online features" in unknown.json()["message"]
    serve.delete("churn-fs")


@pytest.mark.slow
def test_realtime_scales_out_on_in_flight_requests(served) -> None:  # noqa: ANN001
    served()
    ep = serve.create("churn-as", "churn@approved", min_replicas=1, max_replicas=2, target_in_flight=0.25)
    stop = time.monotonic() + 6

    def hammer(_: int) -> set[int]:
        seen = set()
        with httpx.Client(base_url=ep.runtime["url"], timeout=30) as client:
            while time.monotonic() < stop:
                seen.add(client.post("/invocations", content=ROW).status_code)
        return seen

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = set().union(*pool.map(hammer, range(6)))
    assert statuses == {200}
    assert serve.describe("churn-as")["live"]["variants"][0]["replicas"] == 2
    serve.delete("churn-as")
