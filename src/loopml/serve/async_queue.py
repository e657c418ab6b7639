"""The durable queue behind async endpoints (at-least-once delivery, idempotent results).

A request is committed to the queue *before* the 202 is sent. Workers claim a request under a lease
with a fencing epoch, call the model, write the output to the artifact store (content-addressed, so a
re-run writes the same blob) and commit the terminal state only if their lease is still current. A
request whose worker died is claimed again once the lease lapses; one that fails ``max_attempts`` times
is moved to ``Failed`` with the error (a poison message); one past its TTL is marked ``Expired`` and is
never executed. The same idempotency key (``InferenceId``) always maps to the same request.

Back ends sit behind the :class:`AsyncQueue` protocol and are rows of one lazy table, :data:`QUEUES`
(URL scheme -> ``module:Class``): the metadata database (the default, ``LOOPML_QUEUE`` unset) and Redis
(``LOOPML_QUEUE=redis://host:port/db?prefix=…``). Every back end passes
:mod:`loopml.testing.async_queue_contract`.
"""

from __future__ import annotations

import math
from importlib import import_module
from typing import Any, Protocol, runtime_checkable

from loopml.config import get_settings
from loopml.core import context
from loopml.errors import NotFoundError, ValidationError
from loopml.serve._async_request import (
    COMPLETED,
    EXPIRED,
    FAILED,
    IN_PROGRESS,
    PENDING,
    TERMINAL,
    AsyncRequest,
)

__all__ = ["COMPLETED", "EXPIRED", "FAILED", "IN_PROGRESS", "PENDING", "QUEUES", "TERMINAL", "AsyncQueue",
           "AsyncRequest", "MAX_TTL", "attempt_failed", "backlog", "check_header", "claim", "complete", "get", "list_requests",
           "open_queue", "parse_ttl", "recover", "result", "submit"]

MAX_TTL = 21600.0  # SageMaker's limit for X-Amzn-SageMaker-RequestTTLSeconds (6 hours)
MAX_HEADER = 1024  # SageMaker's limit for Accept and X-Amzn-SageMaker-Custom-Attributes

QUEUES: dict[str, str] = {
    "": "loopml.serve._db_queue:DatabaseAsyncQueue",
    "redis": "loopml.serve._redis_queue:RedisAsyncQueue",
    "rediss": "loopml.serve._redis_queue:RedisAsyncQueue",
    "unix": "loopml.serve._redis_queue:RedisAsyncQueue",
}
"""Queue back ends by URL scheme (``""``: the metadata database): module paths as data, imported when chosen."""


@runtime_checkable
class AsyncQueue(Protocol):
    """Where async requests wait, are claimed under a fenced lease, and end in one terminal state.

    Contract every back end keeps (:mod:`loopml.testing.async_queue_contract`):

    * ``submit`` stores the body in the artifact store and the request as ``Pending``, with its content type,
      ``accept`` and ``custom_attributes`` as given (None stays None) for the worker to send on; the same
      ``(endpoint, idempotency_key)`` returns the request already queued and ``created=False``, even
      under concurrent submissions.
    * ``claim`` hands the oldest claimable request to one owner at a time, ``InProgress`` with its attempt
      counted, under a lease of ``lease_ttl`` seconds; requests past their TTL become ``Expired`` and ones
      out of attempts ``Failed`` on the way, never handed out. A lapsed lease makes the request claimable
      again, and the earlier holder's ``complete`` then raises :class:`~loopml.errors.StaleEpoch`.
    * ``complete`` stores the output (content-addressed) and marks ``Completed``; ``attempt_failed`` puts
      the request back to ``Pending`` or, at ``max_attempts``, ``Failed`` with the error (a stale lease is
      ignored). Terminal states never change.
    * ``recover`` makes every ``InProgress`` request of an endpoint claimable now; returns how many.
    * ``list_requests(None)`` lists every endpoint's requests (the collector's view), oldest first.
    """

    url: str
    in_metadata_db: bool

    def submit(self, endpoint: str, body: bytes, *, content_type: str, idempotency_key: str | None,
               ttl: float | None, max_attempts: int, accept: str | None = None,
               custom_attributes: str | None = None) -> tuple[AsyncRequest, bool]: ...

    def get(self, request_id: str) -> AsyncRequest: ...

    def list_requests(self, endpoint: str | None, *, status: str | None = None) -> list[AsyncRequest]: ...

    def backlog(self, endpoint: str) -> int: ...

    def claim(self, endpoint: str, owner: str, *, lease_ttl: float) -> tuple[AsyncRequest, Any] | None: ...

    def recover(self, endpoint: str) -> int: ...

    def complete(self, req: AsyncRequest, lease: Any, output: bytes) -> AsyncRequest: ...

    def attempt_failed(self, req: AsyncRequest, lease: Any, error: str) -> AsyncRequest: ...


_open: dict[str, AsyncQueue] = {}


def open_queue(url: str | None = None) -> AsyncQueue:
    """The queue at ``url`` (default: ``LOOPML_QUEUE``; empty: the metadata database), one per URL.

    Raises:
        ValidationError: a scheme no row of :data:`QUEUES` names.
    """
    url = (get_settings().queue or "") if url is None else url
    if url not in _open:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in QUEUES:
            raise ValidationError(f"async queue URL scheme {scheme!r} is not one of "
                                  f"{sorted(s for s in QUEUES if s)}; set LOOPML_QUEUE to redis://host:port/db "
                                  "or unset it to keep the queue in the metadata database", value=scheme)
        module, _, cls = QUEUES[scheme].partition(":")
        kind = getattr(import_module(module), cls)
        _open[url] = kind(url) if scheme else kind()
    return _open[url]


def submit(endpoint: str, body: bytes, *, content_type: str = "application/json", idempotency_key: str | None = None,
           ttl: float | None = None, max_attempts: int = 3, accept: str | None = None,
           custom_attributes: str | None = None) -> tuple[AsyncRequest, bool]:
    """Persist a request (input in the artifact store); returns it and whether it was new.

    A repeated ``idempotency_key`` returns the request already queued under that key. ``accept`` and
    ``custom_attributes`` (SageMaker's ``Accept`` and ``CustomAttributes``) travel with the request and reach
    the model when a worker runs it, as they do on a synchronous call.

    Raises:
        ValidationError: ``accept`` or ``custom_attributes`` over SageMaker's 1,024 characters, or
            ``custom_attributes`` not ASCII.
    """
    check_header("Accept", accept)
    check_header("CustomAttributes", custom_attributes, ascii_only=True)
    return open_queue().submit(endpoint, body, content_type=content_type, idempotency_key=idempotency_key,
                               ttl=ttl, max_attempts=max_attempts, accept=accept or None,
                               custom_attributes=custom_attributes or None)


def check_header(name: str, value: str | None, *, ascii_only: bool = False) -> None:
    """SageMaker's limits for ``Accept`` and ``CustomAttributes``: at most 1,024 characters (ASCII for the latter);
    the same on synchronous and asynchronous calls."""
    if value is None:
        return
    if len(value) > MAX_HEADER:
        raise ValidationError(f"{name} is {len(value)} characters; SageMaker allows at most {MAX_HEADER}: send a "
                              "shorter value", pointer=f"/headers/{name}")
    if ascii_only and not value.isascii():
        raise ValidationError(f"{name} {value[:40]!r} holds characters that are not ASCII; SageMaker allows ASCII "
                              "only: encode them (e.g. percent-encoding)", pointer=f"/headers/{name}")


def get(request_id: str) -> AsyncRequest:
    """One request by id."""
    return open_queue().get(request_id)


def list_requests(endpoint: str, *, status: str | None = None) -> list[AsyncRequest]:
    """Requests of an endpoint, oldest first."""
    return open_queue().list_requests(endpoint, status=status)


def backlog(endpoint: str) -> int:
    """Requests not yet terminal."""
    return open_queue().backlog(endpoint)


def claim(endpoint: str, owner: str, *, lease_ttl: float = 30.0) -> tuple[AsyncRequest, Any] | None:
    """Take the oldest runnable request under a lease; expired ones are marked on the way (never run)."""
    return open_queue().claim(endpoint, owner, lease_ttl=lease_ttl)


def recover(endpoint: str) -> int:
    """At endpoint start: lapse the leases of requests left InProgress by a dead endpoint process.

    Only one endpoint process serves an endpoint, so whatever is InProgress when it starts was owned by
    one that died; their requests become claimable at once (the attempt still counts).
    """
    return open_queue().recover(endpoint)


def complete(req: AsyncRequest, lease: Any, output: bytes) -> AsyncRequest:
    """Store the output (idempotent: same bytes, same digest) and mark the request Completed."""
    return open_queue().complete(req, lease, output)


def attempt_failed(req: AsyncRequest, lease: Any, error: str) -> AsyncRequest:
    """Record a failed attempt: back to Pending, or Failed (poison) once ``max_attempts`` is reached."""
    return open_queue().attempt_failed(req, lease, error)


def result(request_id: str) -> bytes:
    """The output bytes of a Completed request (verified against their digest)."""
    req = get(request_id)
    if req.status != COMPLETED or not req.output_digest:
        raise NotFoundError(f"inference {request_id!r} is {req.status}; no output yet" +
                            (f" (error: {req.error})" if req.error else ""), inference_id=request_id)
    return context.get_artifacts().get_bytes(req.output_digest)


def parse_ttl(raw: str | None) -> float | None:
    """``X-Amzn-SageMaker-RequestTTLSeconds`` as seconds: a finite number in (0, 21600], or None if absent."""
    if raw is None or raw.strip() == "":
        return None
    try:
        ttl = float(raw)
    except ValueError:
        ttl = math.nan
    if not math.isfinite(ttl) or not 0 < ttl <= MAX_TTL:
        raise ValidationError(f"X-Amzn-SageMaker-RequestTTLSeconds {raw[:40]!r} is not a number of seconds in "
                              f"(0, {MAX_TTL:g}]; send e.g. 3600, or leave the header out for no expiry",
                              pointer="/headers/x-amzn-sagemaker-requestttlseconds")
    return ttl
