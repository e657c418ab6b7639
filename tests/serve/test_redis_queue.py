"""The Redis back end of the async queue behind a real endpoint; the queue contract itself (every back end)
is tests/contract/test_async_queue.py."""

from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest

from loopml import serve

ROW = json.dumps([{"a": 0.5, "b": -1.0, "c": 2.0}]).encode()


@pytest.fixture
def rq(home, redis_url, monkeypatch):  # noqa: ANN001, ANN201
    """Select the Redis queue under a prefix unique to this test (the ``redis_url`` fixture deletes its keys)."""
    monkeypatch.setenv("LOOPML_QUEUE", redis_url)
    from loopml.serve import async_queue

    yield async_queue


def test_default_queue_is_still_the_metadata_db(home, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("LOOPML_QUEUE", raising=False)
    from loopml.serve import async_queue

    req, _ = async_queue.submit("ep", ROW)
    assert async_queue.get(req.id).status == "Pending"


@pytest.mark.slow
def test_killed_async_endpoint_on_redis_leaves_one_terminal_record_each(rq, served) -> None:  # noqa: ANN001
    served()
    ep = serve.create("churn-rq", "churn@approved", mode="async", idle_seconds=30, max_attempts=2)
    with httpx.Client(base_url=ep.runtime["url"], timeout=60) as client:  # each 202 waits for a commit
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


def test_the_queue_is_chosen_by_url(home, redis_url, monkeypatch) -> None:  # noqa: ANN001
    from loopml.errors import ValidationError
    from loopml.serve import async_queue

    monkeypatch.setenv("LOOPML_QUEUE", redis_url)
    assert not async_queue.open_queue().in_metadata_db and async_queue.open_queue().url == redis_url
    with pytest.raises(ValidationError, match="async queue URL scheme 'kafka' is not one of"):
        async_queue.open_queue("kafka://broker:9092")
