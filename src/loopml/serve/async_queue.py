"""The durable queue behind async endpoints (at-least-once delivery, idempotent results).

A request is committed to the queue *before* the 202 is sent. Workers claim a request under a lease
with a fencing epoch, call the model, write the output to the artifact store (content-addressed, so a
re-run writes the same blob) and commit the terminal state only if their lease is still current. A
request whose worker died is claimed again once the lease lapses; one that fails ``max_attempts`` times
is moved to ``Failed`` with the error (a poison message); one past its TTL is marked ``Expired`` and is
never executed. The same idempotency key (``InferenceId``) always maps to the same request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock, context, ids, leases
from loopml.core._sql import insert_ignore
from loopml.errors import NotFoundError, StaleEpoch
from loopml.serve._tables import async_requests

PENDING, IN_PROGRESS, COMPLETED, FAILED, EXPIRED = "Pending", "InProgress", "Completed", "Failed", "Expired"
TERMINAL = (COMPLETED, FAILED, EXPIRED)


# --- backend dispatch: LOOPML_QUEUE=redis://...?prefix=... selects the Redis queue (loopml.serve._redis_queue);
# unset (default) keeps the metadata-DB queue below, unchanged.
def _redis() -> Any:
    url = os.environ.get("LOOPML_QUEUE", "")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    from loopml.serve import _redis_queue

    return _redis_queue.connect(url)


def _redis_queue_mod() -> Any:
    from loopml.serve import _redis_queue

    return _redis_queue
# --- end backend dispatch


@dataclass(frozen=True)
class AsyncRequest:
    """A queued inference request and its outcome (read-only view)."""

    id: str
    endpoint: str
    idempotency_key: str
    status: str
    input_digest: str
    content_type: str
    attempts: int
    max_attempts: int
    expires_at: datetime | None
    output_digest: str | None
    error: str | None
    created_at: datetime

    @property
    def output_location(self) -> str:
        """Where the result will be: the artifact digest once done, else this request's status route."""
        return f"cas:{self.output_digest}" if self.output_digest else f"/async-invocations/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {"inference_id": self.id, "status": self.status, "output_location": self.output_location,
                "attempts": self.attempts, "error": self.error, "idempotency_key": self.idempotency_key}


def _request(row: Any) -> AsyncRequest:
    m = row._mapping
    exp = clock.as_utc(m["expires_at"]) if m["expires_at"] else None
    return AsyncRequest(m["id"], m["endpoint"], m["idempotency_key"], m["status"], m["input_digest"],
                        m["content_type"], m["attempts"], m["max_attempts"], exp, m["output_digest"], m["error"],
                        clock.as_utc(m["created_at"]))


def submit(endpoint: str, body: bytes, *, content_type: str = "application/json", idempotency_key: str | None = None,
           ttl: float | None = None, max_attempts: int = 3) -> tuple[AsyncRequest, bool]:
    """Persist a request (input in the artifact store); returns it and whether it was new.

    A repeated ``idempotency_key`` returns the request already queued under that key.
    """
    if (rq := _redis()) is not None:
        return _redis_queue_mod().submit(rq, endpoint, body, content_type=content_type, idempotency_key=idempotency_key,
                                          ttl=ttl, max_attempts=max_attempts)
    ref = context.get_artifacts().put_bytes(body)
    now = clock.now()
    rid = ids.new_id("inf")
    key = idempotency_key or rid
    with context.get_db().write() as conn:
        created = insert_ignore(conn, async_requests, dict(
            id=rid, endpoint=endpoint, idempotency_key=key, status=PENDING, input_digest=ref.sha256,
            content_type=content_type, attempts=0, max_attempts=max_attempts,
            expires_at=now + timedelta(seconds=ttl) if ttl else None, output_digest=None, error=None,
            created_at=now, updated_at=now))
        row = conn.execute(sa.select(async_requests).where(async_requests.c.endpoint == endpoint,
                                                           async_requests.c.idempotency_key == key)).one()
    return _request(row), created


def get(request_id: str) -> AsyncRequest:
    """One request by id."""
    if (rq := _redis()) is not None:
        return _redis_queue_mod().get(rq, request_id)
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(async_requests).where(async_requests.c.id == request_id)).first()
    if row is None:
        raise NotFoundError(f"no async inference {request_id!r}; ids come from the 202 answer", inference_id=request_id)
    return _request(row)


def list_requests(endpoint: str, *, status: str | None = None) -> list[AsyncRequest]:
    """Requests of an endpoint, oldest first."""
    if (rq := _redis()) is not None:
        return _redis_queue_mod().list_requests(rq, endpoint, status=status)
    query = sa.select(async_requests).where(async_requests.c.endpoint == endpoint)
    if status:
        query = query.where(async_requests.c.status == status)
    with context.get_db().read() as conn:
        return [_request(r) for r in conn.execute(query.order_by(async_requests.c.created_at))]


def backlog(endpoint: str) -> int:
    """Requests not yet terminal."""
    if (rq := _redis()) is not None:
        return _redis_queue_mod().backlog(rq, endpoint)
    query = sa.select(sa.func.count()).select_from(async_requests).where(
        async_requests.c.endpoint == endpoint, async_requests.c.status.in_((PENDING, IN_PROGRESS)))
    with context.get_db().read() as conn:
        return int(conn.execute(query).scalar_one())


def claim(endpoint: str, owner: str, *, lease_ttl: float = 30.0) -> tuple[AsyncRequest, leases.Lease] | None:
    """Take the oldest runnable request under a lease; expired ones are marked on the way (never run)."""
    if (rq := _redis()) is not None:
        return _redis_queue_mod().claim(rq, endpoint, owner, lease_ttl=lease_ttl)
    with context.get_db().write() as conn:
        rows = conn.execute(sa.select(async_requests).where(
            async_requests.c.endpoint == endpoint, async_requests.c.status.in_((PENDING, IN_PROGRESS)))
            .order_by(async_requests.c.created_at).limit(50)).all()
        now = clock.now()
        for row in rows:
            req = _request(row)
            if req.expires_at is not None and req.expires_at <= now:
                _finish(conn, req.id, EXPIRED, error=f"expired before it ran (TTL passed at {req.expires_at})")
                continue
            lease = leases.acquire(conn, f"async/{req.id}", owner, ttl=lease_ttl)
            if lease is None:
                continue
            if req.attempts >= req.max_attempts:
                _finish(conn, req.id, FAILED, error=req.error or "max attempts reached")
                leases.release(conn, lease)
                continue
            conn.execute(async_requests.update().where(async_requests.c.id == req.id).values(
                status=IN_PROGRESS, attempts=req.attempts + 1, updated_at=now))
            return _request(conn.execute(sa.select(async_requests).where(async_requests.c.id == req.id)).one()), lease
    return None


def recover(endpoint: str) -> int:
    """At endpoint start: lapse the leases of requests left InProgress by a dead endpoint process.

    Only one endpoint process serves an endpoint, so whatever is InProgress when it starts was owned by
    one that died; their requests become claimable at once (the attempt still counts).
    """
    if (rq := _redis()) is not None:
        return _redis_queue_mod().recover(rq, endpoint)
    with context.get_db().write() as conn:
        stuck = list(conn.execute(sa.select(async_requests.c.id).where(
            async_requests.c.endpoint == endpoint, async_requests.c.status == IN_PROGRESS)).scalars())
        for rid in stuck:
            leases.expire_now(conn, f"async/{rid}")
    return len(stuck)


def _finish(conn: Connection, rid: str, status: str, *, output: str | None = None, error: str | None = None) -> None:
    conn.execute(async_requests.update().where(async_requests.c.id == rid, async_requests.c.status.notin_(TERMINAL))
                 .values(status=status, output_digest=output, error=error, updated_at=clock.now()))


def complete(req: AsyncRequest, lease: leases.Lease, output: bytes) -> AsyncRequest:
    """Store the output (idempotent: same bytes, same digest) and mark the request Completed."""
    if (rq := _redis()) is not None:
        return _redis_queue_mod().complete(rq, req, lease, output)
    ref = context.get_artifacts().put_bytes(output)
    with context.get_db().write() as conn:
        leases.check(conn, lease)
        _finish(conn, req.id, COMPLETED, output=ref.sha256)
        leases.release(conn, lease)
    return get(req.id)


def attempt_failed(req: AsyncRequest, lease: leases.Lease, error: str) -> AsyncRequest:
    """Record a failed attempt: back to Pending, or Failed (poison) once ``max_attempts`` is reached."""
    if (rq := _redis()) is not None:
        return _redis_queue_mod().attempt_failed(rq, req, lease, error)
    try:
        with context.get_db().write() as conn:
            leases.check(conn, lease)
            if req.attempts >= req.max_attempts:
                _finish(conn, req.id, FAILED, error=error)
            else:
                conn.execute(async_requests.update().where(async_requests.c.id == req.id)
                             .values(status=PENDING, error=error, updated_at=clock.now()))
            leases.release(conn, lease)
    except StaleEpoch:
        pass
    return get(req.id)


def result(request_id: str) -> bytes:
    """The output bytes of a Completed request (verified against their digest)."""
    req = get(request_id)
    if req.status != COMPLETED or not req.output_digest:
        raise NotFoundError(f"inference {request_id!r} is {req.status}; no output yet" +
                            (f" (error: {req.error})" if req.error else ""), inference_id=request_id)
    return context.get_artifacts().get_bytes(req.output_digest)
