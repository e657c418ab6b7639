"""The loopml exception hierarchy.

Every error carries an ``http_status`` (the API maps errors in one place) and a message that says
what happened, what was allowed, and how to fix it. Foreign exceptions are translated at the
back-end edge with ``raise ... from exc``; raw driver text never reaches a user.
"""

from __future__ import annotations

from typing import Any


class LoopmlError(Exception):
    """Root of every error loopml raises on purpose."""

    http_status = 500
    code = "internal"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description for API responses and ``--json`` output."""
        return {"error": self.code, "message": self.message}


class ValidationError(LoopmlError, ValueError):
    """The input is wrong: a bad value, type, name or shape."""

    http_status = 422
    code = "invalid"


class InvalidParameter(ValidationError):
    """A public entry point was given a value outside its declared constraints (``exc.parameter``,
    ``exc.value``, ``exc.allowed``); see :func:`loopml.core.checks.validate_params`."""


class NotFoundError(LoopmlError, LookupError):
    """The named object does not exist."""

    http_status = 404
    code = "not_found"


class ConflictError(LoopmlError):
    """The request conflicts with the current state (already exists, illegal transition)."""

    http_status = 409
    code = "conflict"


class StaleEpoch(ConflictError):
    """A worker whose lease was taken over tried to commit: its result is discarded."""

    code = "stale_epoch"


class PermissionDenied(LoopmlError, PermissionError):
    """The caller is known but its role or a governance rule forbids the action."""

    http_status = 403
    code = "forbidden"


class AuthenticationError(LoopmlError):
    """The caller could not be identified (missing, expired or revoked token)."""

    http_status = 401
    code = "unauthenticated"


class IntegrityError(LoopmlError):
    """Stored bytes do not match their recorded digest."""

    http_status = 409
    code = "integrity"


class ArtifactCorrupted(IntegrityError):
    """An artifact's bytes do not hash to its name: it was changed or truncated on disk."""

    code = "artifact_corrupted"


class UnsafeModelError(ValidationError):
    """A model payload is of a format that could run code when loaded, and was not trusted."""

    code = "unsafe_model"


class BackendError(LoopmlError):
    """A store or server loopml depends on failed or is unavailable; retrying may help."""

    http_status = 503
    code = "backend"


class ClusterError(BackendError):
    """The Ray cluster cannot be used: unreachable, Ray not installed, or client and cluster versions differ."""

    code = "cluster"


class ResourcesUnavailable(ValidationError):
    """Work asks for resources (CPUs, memory, GPUs, custom) that no node of the cluster has."""

    code = "resources_unavailable"


class StoreBusy(BackendError):
    """The metadata store stayed locked by another writer past the busy timeout."""

    code = "busy"
    retry_after = 1


class StorageFull(BackendError):
    """The artifact store ran out of space; nothing was written under the final name."""

    http_status = 507
    code = "storage_full"


class Timeout(LoopmlError, TimeoutError):
    """An operation ran past its time limit."""

    http_status = 504
    code = "timeout"
