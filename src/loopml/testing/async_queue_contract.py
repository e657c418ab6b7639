"""The contract every :class:`~loopml.serve.async_queue.AsyncQueue` back end must honour.

Each check takes a fresh, empty queue (the caller sets up a loopml home, whose artifact store holds the
bodies) and raises AssertionError on a violation. ``tests/contract/test_async_queue.py`` runs them over
every row of :data:`~loopml.serve.async_queue.QUEUES`: the metadata database on SQLite and on
PostgreSQL, and a real Redis server.

Usage: ``from loopml.testing.async_queue_contract import CONTRACT`` then parametrize a test over it.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Callable
from typing import Any

from loopml.core import context
from loopml.errors import NotFoundError, StaleEpoch
from loopml.serve.async_queue import AsyncQueue, AsyncRequest

ROW = json.dumps([{"a": 0.5, "b": -1.0, "c": 2.0}]).encode()
Check = Callable[[AsyncQueue], None]


def _submit(queue: AsyncQueue, endpoint: str = "ep", *, content_type: str = "application/json",
            idempotency_key: str | None = None, ttl: float | None = None,
            max_attempts: int = 3) -> tuple[AsyncRequest, bool]:
    return queue.submit(endpoint, ROW, content_type=content_type, idempotency_key=idempotency_key, ttl=ttl,
                        max_attempts=max_attempts)


def _claim(queue: AsyncQueue, endpoint: str, owner: str, *, lease_ttl: float) -> tuple[AsyncRequest, Any]:
    got = queue.claim(endpoint, owner, lease_ttl=lease_ttl)
    assert got is not None, f"nothing to claim on {endpoint!r}: the request submitted before was not queued"
    return got


def is_an_async_queue(queue: AsyncQueue) -> None:
    assert isinstance(queue, AsyncQueue)
    assert isinstance(queue.in_metadata_db, bool) and isinstance(queue.url, str)


def a_submitted_request_is_pending_with_its_body_stored(queue: AsyncQueue) -> None:
    req, created = _submit(queue, content_type="text/csv")
    assert created and req.status == "Pending" and req.attempts == 0 and req.max_attempts == 3
    assert context.get_artifacts().get_bytes(req.input_digest) == ROW
    assert queue.get(req.id) == req and req.content_type == "text/csv"
    assert req.output_location == f"/async-invocations/{req.id}"


def accept_and_custom_attributes_travel_with_the_request(queue: AsyncQueue) -> None:
    attributes = "probabilities=true, trace=a1b2;c=3"  # SageMaker's CustomAttributes: opaque ASCII, sent verbatim
    req, _ = queue.submit("ep", ROW, content_type="text/csv", idempotency_key="k-h", ttl=None, max_attempts=3,
                          accept="text/csv; charset=utf-8", custom_attributes=attributes)
    assert (req.accept, req.custom_attributes) == ("text/csv; charset=utf-8", attributes)
    again, created = queue.submit("ep", ROW, content_type="text/csv", idempotency_key="k-h", ttl=None,
                                  max_attempts=3, accept="application/json", custom_attributes="other")
    assert not created and (again.accept, again.custom_attributes) == (req.accept, attributes)
    bare, _ = _submit(queue)
    assert (bare.accept, bare.custom_attributes) == (None, None)
    claimed, _ = _claim(queue, "ep", "w", lease_ttl=30)
    assert claimed.id == req.id and (claimed.accept, claimed.custom_attributes) == (req.accept, attributes)
    assert queue.get(req.id).custom_attributes == attributes and queue.get(bare.id).accept is None
    assert {r.id: r.accept for r in queue.list_requests("ep")} == {req.id: req.accept, bare.id: None}


def an_unknown_id_is_not_found(queue: AsyncQueue) -> None:
    try:
        queue.get("inf-nope")
    except NotFoundError as exc:
        assert "inf-nope" in str(exc)
    else:
        raise AssertionError("get of an unknown id returned")


def duplicate_submissions_under_one_key_make_one_entry(queue: AsyncQueue) -> None:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: _submit(queue, idempotency_key="k-1"), range(16)))
    assert len({req.id for req, _ in got}) == 1
    assert sum(created for _, created in got) == 1
    assert queue.backlog("ep") == 1 and len(queue.list_requests("ep")) == 1
    other, created = _submit(queue, "ep-2", idempotency_key="k-1")  # keys are per endpoint
    assert created and other.id != got[0][0].id


def claim_complete_and_result_round_trip(queue: AsyncQueue) -> None:
    req, _ = _submit(queue)
    claimed, lease = _claim(queue, "ep", "w1", lease_ttl=30)
    assert claimed.id == req.id and claimed.status == "InProgress" and claimed.attempts == 1
    assert queue.claim("ep", "w2", lease_ttl=30) is None  # one holder at a time
    done = queue.complete(claimed, lease, b'{"predictions": [1]}')
    assert done.status == "Completed" and done.output_digest
    assert context.get_artifacts().get_bytes(done.output_digest) == b'{"predictions": [1]}'
    assert queue.backlog("ep") == 0 and queue.claim("ep", "w2", lease_ttl=30) is None
    try:  # completing again may answer with the record or refuse the released lease; the outcome stays
        queue.complete(claimed, lease, b'{"predictions": [0]}')
    except StaleEpoch:
        pass
    assert queue.get(req.id).output_digest == done.output_digest


def claims_take_the_oldest_first(queue: AsyncQueue) -> None:
    first, _ = _submit(queue)
    time.sleep(0.01)
    second, _ = _submit(queue)
    one, _ = _claim(queue, "ep", "w1", lease_ttl=30)
    two, _ = _claim(queue, "ep", "w2", lease_ttl=30)
    assert (one.id, two.id) == (first.id, second.id)
    assert [r.id for r in queue.list_requests("ep")] == [first.id, second.id]


def a_lapsed_lease_is_redelivered_and_the_old_worker_is_fenced(queue: AsyncQueue) -> None:
    _submit(queue)
    first, old = _claim(queue, "ep", "w1", lease_ttl=0.2)
    deadline = time.monotonic() + 30
    while (got := queue.claim("ep", "w2", lease_ttl=30)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got is not None, "a lapsed lease was never redelivered"
    again, new = got
    assert again.id == first.id and again.attempts == 2
    try:
        queue.complete(first, old, b"late")
    except StaleEpoch:
        pass
    else:
        raise AssertionError("a worker whose lease lapsed committed its result")
    assert queue.complete(again, new, b"ok").status == "Completed"


def recover_makes_in_progress_requests_claimable_at_once(queue: AsyncQueue) -> None:
    _submit(queue)
    queue.claim("ep", "w1", lease_ttl=300)
    assert queue.claim("ep", "w2", lease_ttl=300) is None
    assert queue.recover("ep") == 1
    assert queue.claim("ep", "w2", lease_ttl=300) is not None
    assert queue.recover("other") == 0


def a_failed_attempt_goes_back_to_pending_then_poison_fails(queue: AsyncQueue) -> None:
    req, _ = _submit(queue, max_attempts=2)
    for expected in ("Pending", "Failed"):
        claimed, lease = _claim(queue, "ep", "w", lease_ttl=30)
        assert queue.attempt_failed(claimed, lease, "boom").status == expected
    assert queue.claim("ep", "w", lease_ttl=30) is None
    final = queue.get(req.id)
    assert final.status == "Failed" and final.error == "boom" and final.attempts == 2 and queue.backlog("ep") == 0


def expired_requests_are_never_executed(queue: AsyncQueue) -> None:
    req, _ = _submit(queue, ttl=0.001)
    time.sleep(0.05)
    assert queue.claim("ep", "w", lease_ttl=30) is None
    final = queue.get(req.id)
    assert final.status == "Expired" and final.output_digest is None and final.attempts == 0
    assert final.expires_at is not None and queue.backlog("ep") == 0


def listing_filters_by_endpoint_and_status(queue: AsyncQueue) -> None:
    a, _ = _submit(queue, "ep-a")
    b, _ = _submit(queue, "ep-b")
    claimed, lease = _claim(queue, "ep-b", "w", lease_ttl=30)
    queue.complete(claimed, lease, b"{}")
    assert [r.id for r in queue.list_requests("ep-a")] == [a.id]
    assert [r.id for r in queue.list_requests("ep-b", status="Completed")] == [b.id]
    assert queue.list_requests("ep-b", status="Pending") == []
    assert {r.id for r in queue.list_requests(None)} == {a.id, b.id}
    assert (queue.backlog("ep-a"), queue.backlog("ep-b"), queue.backlog("ep-none")) == (1, 0, 0)


CONTRACT: list[Check] = [
    is_an_async_queue,
    a_submitted_request_is_pending_with_its_body_stored,
    accept_and_custom_attributes_travel_with_the_request,
    an_unknown_id_is_not_found,
    duplicate_submissions_under_one_key_make_one_entry,
    claim_complete_and_result_round_trip,
    claims_take_the_oldest_first,
    a_lapsed_lease_is_redelivered_and_the_old_worker_is_fenced,
    recover_makes_in_progress_requests_claimable_at_once,
    a_failed_attempt_goes_back_to_pending_then_poison_fails,
    expired_requests_are_never_executed,
    listing_filters_by_endpoint_and_status,
]
"""Every check, in a stable order."""
