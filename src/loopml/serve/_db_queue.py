"""The async queue in the metadata database (SQLite or PostgreSQL): the default back end.

Requests are rows of ``async_requests``; a claim is a lease with a fencing epoch in the ``leases`` table,
so a worker whose lease lapsed cannot commit (:class:`~loopml.errors.StaleEpoch`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock, context, ids, leases
from loopml.core.rows import insert_ignore
from loopml.errors import NotFoundError, StaleEpoch
from loopml.serve._async_request import (
    COMPLETED,
    EXPIRED,
    FAILED,
    IN_PROGRESS,
    PENDING,
    TERMINAL,
    AsyncRequest,
)
from loopml.serve._tables import async_requests

_FIELDS = ("id", "endpoint", "idempotency_key", "status", "input_digest", "content_type", "attempts",
           "max_attempts", "expires_at", "output_digest", "error", "created_at", "accept", "custom_attributes")


def _request(row: Any) -> AsyncRequest:
    m = dict(row._mapping)
    m["expires_at"] = clock.as_utc(m["expires_at"]) if m["expires_at"] else None
    m["created_at"] = clock.as_utc(m["created_at"])
    return AsyncRequest(**{f: m[f] for f in _FIELDS})


def _finish(conn: Connection, rid: str, status: str, *, output: str | None = None, error: str | None = None) -> None:
    conn.execute(async_requests.update().where(async_requests.c.id == rid, async_requests.c.status.notin_(TERMINAL))
                 .values(status=status, output_digest=output, error=error, updated_at=clock.now()))


class DatabaseAsyncQueue:
    """The :class:`~loopml.serve.async_queue.AsyncQueue` kept in the metadata database of the context."""

    url = ""
    in_metadata_db = True

    def submit(self, endpoint: str, body: bytes, *, content_type: str, idempotency_key: str | None,
               ttl: float | None, max_attempts: int, accept: str | None = None,
               custom_attributes: str | None = None) -> tuple[AsyncRequest, bool]:
        ref = context.get_artifacts().put_bytes(body)
        now = clock.now()
        rid = ids.new_id("inf")
        key = idempotency_key or rid
        with context.get_db().write() as conn:
            created = insert_ignore(conn, async_requests, dict(
                id=rid, endpoint=endpoint, idempotency_key=key, status=PENDING, input_digest=ref.sha256,
                content_type=content_type, accept=accept, custom_attributes=custom_attributes, attempts=0, max_attempts=max_attempts,
                expires_at=now + timedelta(seconds=ttl) if ttl else None, output_digest=None, error=None,
                created_at=now, updated_at=now))
            row = conn.execute(sa.select(async_requests).where(async_requests.c.endpoint == endpoint,
                                                               async_requests.c.idempotency_key == key)).one()
        return _request(row), created

    def get(self, request_id: str) -> AsyncRequest:
        with context.get_db().read() as conn:
            row = conn.execute(sa.select(async_requests).where(async_requests.c.id == request_id)).first()
        if row is None:
            raise NotFoundError(f"no async inference {request_id!r}; ids come from the 202 answer",
                                inference_id=request_id)
        return _request(row)

    def list_requests(self, endpoint: str | None, *, status: str | None = None) -> list[AsyncRequest]:
        query = sa.select(async_requests)
        if endpoint is not None:
            query = query.where(async_requests.c.endpoint == endpoint)
        if status:
            query = query.where(async_requests.c.status == status)
        with context.get_db().read() as conn:
            rows = conn.execute(query.order_by(async_requests.c.created_at)).all()
        return [_request(r) for r in rows]

    def backlog(self, endpoint: str) -> int:
        query = sa.select(sa.func.count()).select_from(async_requests).where(
            async_requests.c.endpoint == endpoint, async_requests.c.status.in_((PENDING, IN_PROGRESS)))
        with context.get_db().read() as conn:
            return int(conn.execute(query).scalar_one())

    def claim(self, endpoint: str, owner: str, *, lease_ttl: float) -> tuple[AsyncRequest, leases.Lease] | None:
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

    def recover(self, endpoint: str) -> int:
        with context.get_db().write() as conn:
            stuck = list(conn.execute(sa.select(async_requests.c.id).where(
                async_requests.c.endpoint == endpoint, async_requests.c.status == IN_PROGRESS)).scalars())
            for rid in stuck:
                leases.expire_now(conn, f"async/{rid}")
        return len(stuck)

    def complete(self, req: AsyncRequest, lease: Any, output: bytes) -> AsyncRequest:
        ref = context.get_artifacts().put_bytes(output)
        with context.get_db().write() as conn:
            leases.check(conn, lease)
            _finish(conn, req.id, COMPLETED, output=ref.sha256)
            leases.release(conn, lease)
        return self.get(req.id)

    def attempt_failed(self, req: AsyncRequest, lease: Any, error: str) -> AsyncRequest:
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
        return self.get(req.id)
