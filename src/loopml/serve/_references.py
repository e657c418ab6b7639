"""The blobs the serving stage's records name (a reference provider for ``fsck`` and ``gc``)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core.references import BYTES, FOLDER, FileReference, Reference, mentions, named
from loopml.serve import _tables as t


def endpoints(conn: Connection) -> Iterator[Reference]:
    """The model digests an endpoint's variants, deployment and runtime state name."""
    c = t.endpoints.c
    for name, *documents in conn.execute(sa.select(c.name, c.config, c.deployment, c.runtime)):
        for value in documents:
            yield from mentions(value, f"endpoint {name}")


def capture_files(conn: Connection) -> Iterator[Reference | FileReference]:
    """Each uploaded capture file: in SageMaker's layout under the capture root (checked against the hash
    recorded at upload, never collected), or an artifact for files uploaded before that layout."""
    from loopml.serve.capture import capture_root

    root = capture_root().rstrip("/")
    c = t.capture_files.c
    for endpoint, hour, digest, key in conn.execute(sa.select(c.endpoint, c.hour, c.digest, c.key)):
        owner = f"endpoint {endpoint} capture {hour}"
        yield FileReference(f"{root}/{key}", owner, digest) if key else Reference(digest, owner, BYTES)


def ground_truth(conn: Connection) -> Iterator[Reference]:
    """Each uploaded ground-truth file."""
    c = t.ground_truth.c
    for endpoint, digest in conn.execute(sa.select(c.endpoint, c.digest)):
        yield Reference(digest, f"endpoint {endpoint} ground truth", BYTES)


def async_requests(conn: Connection) -> Iterator[Reference]:
    """Payload and result of every async request: in the metadata DB, and in Redis when that is the queue."""
    c = t.async_requests.c
    for request_id, endpoint, payload, result in conn.execute(
            sa.select(c.id, c.endpoint, c.input_digest, c.output_digest)):
        yield from named(f"endpoint {endpoint} async request {request_id}", payload=payload, result=result)
    from loopml.serve.async_queue import open_queue

    queue = open_queue()
    if not queue.in_metadata_db:
        for req in queue.list_requests(None):
            yield from named(f"endpoint {req.endpoint} async request {req.id}", payload=req.input_digest,
                             result=req.output_digest)


def events(conn: Connection) -> Iterator[Reference]:
    """Digests an endpoint event mentions (the model a deployment moved to...)."""
    c = t.events.c
    for event_id, endpoint, details in conn.execute(sa.select(c.id, c.endpoint, c.details)):
        yield from mentions(details, f"endpoint {endpoint} event {event_id}")


def transform_jobs(conn: Connection) -> Iterator[Reference]:
    """The model folder a batch transform ran (its input and outputs are the user's own files)."""
    c = t.transform_jobs.c
    for job_id, digest, params in conn.execute(sa.select(c.id, c.digest, c.params)):
        owner = f"transform job {job_id}"
        yield Reference(digest, f"{owner} model", FOLDER, required=False)
        yield from mentions(params, owner)


def file_digests(conn: Connection) -> Iterator[Reference]:
    """Nothing: the digests recorded for transform inputs name the user's own files, outside the artifact
    store (kept only so an unchanged input is not hashed again)."""
    return iter(())
