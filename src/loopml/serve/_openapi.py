"""The OpenAPI 3 description of the model server's routes (served at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

_ERROR = {"description": "an error with an error_id", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error", "message", "error_id"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "error_id": {"type": "string"},
                   "pointer": {"type": "string"}}}}}}
_ERRORS = {str(code): _ERROR for code in (400, 404, 413, 415, 422, 429, 500, 503)}
_OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
_RECORDS = {"type": "array", "items": {"type": "object"}}
_INVOKE_BODY = {"required": True, "content": {
    "application/json": {"schema": {"oneOf": [_RECORDS, {"type": "object", "properties": {"instances": _RECORDS}}]}},
    "text/csv": {"schema": {"type": "string"}}}}
_V2_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["inputs"], "properties": {"inputs": {"type": "array", "items": {
        "type": "object", "required": ["name", "shape", "datatype", "data"],
        "properties": {"name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
                       "datatype": {"type": "string"}, "data": {"type": "array"}}}}}}}}}


#: 400 on every route: a path holding a control character is refused before routing (the router, the error shape)
_MALFORMED = {"400": _ERROR}


def _get(summary: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {**_OK, **_MALFORMED, "404": _ERROR, "503": _ERROR}}}


def openapi(models: list[str]) -> dict[str, Any]:
    """The document, with the served model names as the allowed ``{name}`` values."""
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": models}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "loopml model server", "version": "1"},
        "paths": {
            "/ping": _get("SageMaker health check"),
            "/v2/health/live": _get("OIP v2 liveness"),
            "/v2/health/ready": _get("OIP v2 readiness"),
            "/v2/models/{name}": {"get": {"summary": "OIP v2 model metadata", "parameters": [name],
                                          "responses": {**_OK, **_MALFORMED, "404": _ERROR}}},
            "/invocations": {"post": {"summary": "SageMaker invocation: JSON records/columns/instances or CSV",
                                      "requestBody": _INVOKE_BODY, "responses": {**_OK, **_ERRORS}}},
            "/v2/models/{name}/infer": {"post": {"summary": "OIP v2 inference", "parameters": [name],
                                                 "requestBody": _V2_BODY, "responses": {**_OK, **_ERRORS}}},
        },
    }


_ASYNC_BODY = {"required": True, "content": {"application/json": {"schema": {}}, "text/csv": {"schema": {"type": "string"}}}}
_TTL = {"name": "X-Amzn-SageMaker-RequestTTLSeconds", "in": "header", "required": False,
        "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 21600},
        "description": "seconds the request may wait in the queue before it expires (never run)"}
_ASYNC_HEADERS = [
    {"name": "X-Amzn-SageMaker-Accept", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 1024},
     "description": "the answer's content type, sent to the model when the request runs (or plain Accept)"},
    {"name": "X-Amzn-SageMaker-Custom-Attributes", "in": "header", "required": False,
     "schema": {"type": "string", "maxLength": 1024},
     "description": "opaque ASCII, sent to the model when the request runs (probabilities=true; the capture record)"}]
_INFERENCE_ID = {"name": "inference_id", "in": "path", "required": True, "schema": {"type": "string"}}


def async_paths() -> dict[str, Any]:
    """The routes an async endpoint adds: submit (202 once queued), status, result."""
    accepted = {"202": {"description": "queued (committed before this answer)",
                        "content": {"application/json": {"schema": {"type": "object"}}}}}
    return {
        "/async-invocations": {"post": {"summary": "queue one inference (SageMaker InvokeEndpointAsync)",
                                        "parameters": [_TTL, *_ASYNC_HEADERS], "requestBody": _ASYNC_BODY,
                                        "responses": {**accepted, **{c: _ERROR for c in ("400", "413", "422", "503")}}}},
        "/async-invocations/{inference_id}": {"get": {"summary": "status of a queued inference",
                                                      "parameters": [_INFERENCE_ID],
                                                      "responses": {**_OK, **_MALFORMED, "404": _ERROR}}},
        "/async-invocations/{inference_id}/result": {"get": {"summary": "output of a completed inference",
                                                             "parameters": [_INFERENCE_ID],
                                                             "responses": {**_OK, **_MALFORMED, "404": _ERROR}}},
    }
