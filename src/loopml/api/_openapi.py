"""The OpenAPI document of the control plane: every status a route can answer, each error in the one error shape.

FastAPI documents only a route's success status and a 422 whose body (``detail``) is not what loopml sends.
:func:`document` adds, to every operation, the statuses the shared machinery can answer before or around the
route — a refused path or ``Host`` (400), no or a bad token (401), the policy (403), bad input (422), a busy
store (503) — and those that follow from what the route takes: 404 where it names objects, 409 where it
changes them, 413 where it reads a body. Each error response has the :data:`ERROR` schema. An optional
parameter is documented as the text it is, without pydantic's ``null`` branch (:func:`_without_null`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "Every error answer: a code, a message saying what was wrong and what to do, and an id that "
                   "finds the request in the server log. A 422 also lists the offending fields.",
    "required": ["error", "message", "error_id"],
    "properties": {
        "error": {"type": "string", "examples": ["not_found"]},
        "message": {"type": "string"},
        "error_id": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "in": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
_WHY = {
    400: "The path holds '..', an encoded character or NUL, or the Host header is not accepted.",
    401: "No bearer token, or one that is unknown, revoked or expired.",
    403: "The caller's roles do not allow this route (or a governance rule forbids the action).",
    404: "A named object does not exist.",
    409: "The change conflicts with the current state (exists already, an illegal transition, a moved alias).",
    413: "The request body is over the size limit.",
    422: "A parameter or the body is not valid (the fields are listed).",
    503: "The metadata store is busy; retry after the Retry-After seconds.",
}


def _statuses(method: str, op: dict[str, Any]) -> list[int]:
    statuses = [400, 401, 403, 422, 503]
    if method != "get" or op.get("parameters"):
        statuses.append(404)
    if method in ("post", "put", "delete"):
        statuses.append(409)
    if "requestBody" in op:
        statuses.append(413)
    return sorted(statuses)


def _without_null(parameter: dict[str, Any]) -> None:
    """An optional query, path, header or cookie parameter as what the wire carries: pydantic writes ``X | None``
    as ``anyOf: [X, {"type": "null"}]``, but a parameter is text or absent, never JSON ``null`` (absent is the
    ``None``). Left in, the ``null`` branch tells clients and fuzzers that any non-text value is forbidden, when
    ``false`` or ``0`` arrive as the valid text "false" or "0"."""
    schema = parameter.get("schema", {})
    branches = schema.get("anyOf", [])
    kept = [b for b in branches if b != {"type": "null"}]
    if len(branches) == 2 and len(kept) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
        parameter["schema"] = {**kept[0], **rest}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every error status documented (built once, then cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    for key in ("HTTPValidationError", "ValidationError"):
        schemas.pop(key, None)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in doc["paths"].values():
        for method, op in item.items():
            for parameter in op.get("parameters", []):
                _without_null(parameter)
            responses = op.setdefault("responses", {})
            for status in _statuses(method, op):
                responses[str(status)] = {"description": _WHY[status], "content": error}
    app.openapi_schema = doc
    return doc
