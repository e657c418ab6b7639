"""Where async inference inputs are read from and outputs written to, as SageMaker's async endpoints do.

SageMaker reads an async request's payload from ``InputLocation`` (an S3 URI) and writes the answer to
``OutputLocation`` (or, on failure, ``FailureLocation``). loopml keeps one *async root* for both:
``LOOPML_ASYNC_ROOT`` (a folder or ``s3://bucket/prefix``), by default ``<artifacts>/async`` when the
artifact store is on S3 and ``<home>/async`` otherwise. Inputs are read only from under that root (or,
as a ``sha256:`` digest, from the artifact store), so a caller cannot make the server read any object its
credentials reach; every async answer lands at ``<root>/output/<endpoint>/<inference id>.out`` and every
failure at ``<root>/failure/<endpoint>/<inference id>-error.out``.
"""

from __future__ import annotations

import json
from typing import Any

from loopml.core import context
from loopml.errors import NotFoundError, ValidationError


def root() -> str:
    """The async root URL or folder (no trailing slash)."""
    configured = (context.get_settings().async_root or "").rstrip("/")
    if configured:
        return configured
    artifacts = context.get_settings().artifacts_url
    if artifacts.startswith("s3://"):
        return artifacts.rstrip("/") + "/async"
    return str(context.get_settings().home / "async")


def output_location(endpoint: str, inference_id: str) -> str:
    """Where the answer of a request will be written (SageMaker's ``OutputLocation``)."""
    return f"{root()}/output/{endpoint}/{inference_id}.out"


def failure_location(endpoint: str, inference_id: str) -> str:
    """Where the error of a failed request will be written (SageMaker's ``FailureLocation``)."""
    return f"{root()}/failure/{endpoint}/{inference_id}-error.out"


def _fs(url: str) -> tuple[Any, str]:
    from loopml.serve._capture_store import open_url

    return open_url(url)


def read_input(location: str, *, limit: int) -> bytes:
    """The payload at ``location``: a ``sha256:`` digest in the artifact store or a file under the async root.

    Raises:
        ValidationError: the location is outside the async root, or the payload is over ``limit`` bytes.
        NotFoundError: nothing is stored there.
    """
    location = location.strip()
    if location.startswith("sha256:"):
        return context.get_artifacts().get_bytes(location)
    base = root()
    if not location.startswith(base + "/") or "/../" in location or location.endswith("/.."):
        raise ValidationError(f"InputLocation {location[:200]!r} is not under the async root {base}; upload the "
                              "payload there (or give an artifact digest sha256:...)", pointer="/InputLocation")
    fs, path = _fs(location)
    try:
        size = fs.size(path)
    except FileNotFoundError:
        raise NotFoundError(f"InputLocation {location[:200]!r} holds no object; upload the payload first") from None
    if size > limit:
        raise ValidationError(f"the payload at {location[:200]!r} is {size} bytes, over the limit of {limit}")
    with fs.open(path, "rb") as fh:
        data: bytes = fh.read()
    return data


def write_outcome(endpoint: str, inference_id: str, *, output: bytes | None, error: str | None,
                  content_type: str = "application/json") -> str:
    """Write a finished request's answer (or its error, as JSON) where the 202 answer said; returns the URL.

    ``content_type`` is the answer's (what the request's ``Accept`` asked the model for); on S3 the object is
    stored with it, so a ``get_object`` reports it.
    """
    url = output_location(endpoint, inference_id) if output is not None else failure_location(endpoint, inference_id)
    fs, path = _fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    data = output if output is not None else json.dumps({"inference_id": inference_id, "error": error}).encode()
    kind = content_type if output is not None else "application/json"
    fs.pipe_file(path, data, **({"ContentType": kind} if "s3" in _protocols(fs) else {}))
    return url


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
