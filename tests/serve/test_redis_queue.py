"""The Redis backend of the async queue: same guarantees as the metadata-DB queue, on a real Redis server."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time
import uuid

import httpx
import pytest

from loopml import serve
from loopml.errors import StaleEpoch

ROW = json.dumps([{"a": 0.5, "b": -1.0, "c": 2.0}]).encode()
redis = pytest.importorskip("redis")


def _redis_up() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="needs a Redis server on 127.0.0.1:6379")


@pytest.fixture
def rq(home, monkeypatch):  # noqa: ANN001, ANN201
    """Select the Redis queue under a prefix unique to this test; its keys are deleted afterwards."""
    prefix = f"loopml-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("LOOPML_QUEUE", f"redis://127.0.0.1:6379/0?prefix={prefix}")
    from loopml.serve import async_queue

    yield async_queue
    client = redis.Redis(host="127.0.0.1", port=6379)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_duplicate_submissions_under_one_key_make_one_entry(rq) -> None:  # noqa: ANN001
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: rq.submit("ep", ROW, idempotency_key="k-1"), range(16)))
    assert len({req.id for req, _ in got}) == 1
    assert sum(created for _, created in got) == 1
    assert rq.backlog("ep") == 1 and len(rq.list_requests("ep")) == 1


def test_claim_complete_and_result_round_trip(rq) -> None:  # noqa: ANN001
    req, _ = rq.submit("ep", ROW)
    claimed, lease = rq.claim("ep", "w1", lease_ttl=30)
    assert claimed.id == req.id and claimed.status == "InProgress" and claimed.attempts == 1
    assert rq.claim("ep", "w2", lease_ttl=30) is None
    done = rq.complete(claimed, lease, b'{"predictions": [1]}')
    assert done.status == "Completed" and rq.result(req.id) == b'{"predictions": [1]}'
    assert rq.complete(claimed, lease, b'{"predictions": [1]}').output_digest == done.output_digest
    assert rq.backlog("ep") == 0


def test_a_lapsed_lease_is_redelivered_and_the_old_worker_is_fenced(rq) -> None:  # noqa: ANN001
    rq.submit("ep", ROW)
    first, old = rq.claim("ep", "w1", lease_ttl=0.2)
    time.sleep(0.3)
    again, new = rq.claim("ep", "w2", lease_ttl=30)
    assert again.id == first.id and again.attempts == 2
    with pytest.raises(StaleEpoch):
        rq.complete(first, old, b"late")
    assert rq.complete(again, new, b"ok").status == "Completed"


def test_recover_makes_in_progress_requests_claimable_at_once(rq) -> None:  # noqa: ANN001
    rq.submit("ep", ROW)
    rq.claim("ep", "w1", lease_ttl=300)
    assert rq.claim("ep", "w2", lease_ttl=300) is None
    assert rq.recover("ep") == 1
    assert rq.claim("ep", "w2", lease_ttl=300) is not None


def test_poison_message_fails_after_max_attempts(rq) -> None:  # noqa: ANN001
    req, _ = rq.submit("ep", ROW, max_attempts=2)
    for expected in ("Pending", "Failed"):
        claimed, lease = rq.claim("ep", "w", lease_ttl=30)
        assert rq.attempt_failed(claimed, lease, "boom").status == expected
    assert rq.claim("ep", "w", lease_ttl=30) is None
    final = rq.get(req.id)
    assert final.error == "boom" and final.attempts == 2 and rq.backlog("ep") == 0


def test_expired_requests_are_never_executed(rq) -> None:  # noqa: ANN001
    req, _ = rq.submit("ep", ROW, ttl=0.001)
    time.sleep(0.05)
    assert rq.claim("ep", "w", lease_ttl=30) is None
    final = rq.get(req.id)
    assert final.status == "Expired" and final.output_digest is None and final.attempts == 0


def test_default_queue_is_still_the_metadata_db(home, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("LOOPML_QUEUE", raising=False)
    from loopml.serve import async_queue

    req, _ = async_queue.submit("ep", ROW)
    assert async_queue.get(req.id).status == "Pending"


@pytest.mark.slow
def test_killed_async_endpoint_on_redis_leaves_one_terminal_record_each(rq, served) -> None:  # noqa: ANN001
    served()
    ep = serve.create("churn-rq", "churn@approved", mode="async", idle_seconds=30, max_attempts=2)
    with httpx.Client(base_url=ep.runtime["url"]) as client:
        ids = [client.post("/async-invocations", content=ROW).json()["inference_id"] for _ in range(30)]
        expired = client.post("/async-invocations", content=ROW,
                              headers={"x-amzn-sagemaker-requestttlseconds": "0.001"}).json()["inference_id"]
    os.kill(serve.get("churn-rq").runtime["pid"], signal.SIGKILL)
    time.sleep(0.5)
    serve.start_all()
    deadline = time.monotonic() + 60
    while rq.backlog("churn-rq") and time.monotonic() < deadline:
        time.sleep(0.2)
    final = {r.id: r for r in rq.list_requests("churn-rq")}
    assert len(final) == 31
    assert all(final[i].status == "Completed" and final[i].output_digest for i in ids)
    assert final[expired].status == "Expired"
    assert json.loads(rq.result(ids[0]))["predictions"] in ([0], [1])
    serve.delete("churn-rq")
