"""Errors of the serving stage, each mapped to the HTTP status a client should see."""

from __future__ import annotations

from loopml.errors import BackendError, LoopmlError, NotFoundError, ValidationError


class MalformedRequest(ValidationError):
    """The body could not be parsed (bad JSON or CSV, a bad encoding)."""

    http_status = 400
    code = "malformed"


class UnsupportedMediaType(ValidationError):
    """The content type is not one the server decodes (pickle-family types are never accepted)."""

    http_status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(ValidationError):
    """The body, or its decompressed form, is over the endpoint's limit."""

    http_status = 413
    code = "payload_too_large"


class Overloaded(BackendError):
    """Every concurrency slot and queue place is taken; retry after ``retry_after`` seconds."""

    code = "overloaded"
    retry_after = 1


class TooManyRequests(LoopmlError):
    """A serverless endpoint is at its ``max_concurrency``."""

    http_status = 429
    code = "too_many_requests"
    retry_after = 1


class ModelFailed(LoopmlError):
    """The model raised while predicting valid input."""

    http_status = 500
    code = "model_error"


class NoRoute(NotFoundError):
    """No route answers this path (see ``/openapi.json``)."""

    code = "not_found"


class MethodNotAllowed(LoopmlError):
    """The path exists but not for this HTTP method."""

    http_status = 405
    code = "method_not_allowed"


class UnknownTarget(NotFoundError):
    """A multi-model request named a target model the endpoint does not host."""

    code = "unknown_target"


__all__ = ["MalformedRequest", "MethodNotAllowed", "ModelFailed", "NoRoute", "Overloaded", "PayloadTooLarge",
           "TooManyRequests", "UnknownTarget", "UnsupportedMediaType"]
