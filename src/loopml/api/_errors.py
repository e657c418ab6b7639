"""One place that turns exceptions into HTTP responses: ``{"error", "message", "error_id"}``.

loopml errors keep their own status (``exc.http_status``) and message; request-validation errors become 422
with one entry per offending field; anything else is a 500 whose body says only that something failed and
gives an ``error_id`` to find the traceback in the server log. Raw driver text never reaches a client.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from loopml.errors import LoopmlError, StoreBusy

log = logging.getLogger("loopml.api")
_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type", 422: "invalid"}


def error_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                   error_id: str | None = None, **extra: Any) -> JSONResponse:
    """A JSON error body with an ``error_id`` (fresh unless given) and the given status."""
    body = {"error": code, "message": message, "error_id": error_id or uuid.uuid4().hex[:16], **extra}
    return JSONResponse(body, status_code=status, headers=headers)


async def _loopml(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LoopmlError)
    headers = {"Retry-After": str(getattr(exc, "retry_after", 1))} if isinstance(exc, StoreBusy) else None
    if exc.http_status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    if exc.http_status >= 500:
        log.warning("%s %s -> %s: %s", request.method, request.url.path, exc.http_status, exc.message)
    return error_response(exc.http_status, exc.code, exc.message, headers=headers)


def _field(err: dict[str, Any]) -> dict[str, Any]:
    loc = [str(part) for part in err.get("loc", ())]
    return {"field": ".".join(loc[1:]) or ".".join(loc), "in": loc[0] if loc else "", "message": err.get("msg", "")}


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [_field(err) for err in exc.errors()]
    summary = "; ".join(f"{f['in']} {f['field']}: {f['message']}" for f in fields[:5])
    return error_response(422, "invalid", f"the request is not valid: {summary}; see the OpenAPI document at "
                          "/openapi.json for the expected shape", fields=fields)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex[:16]
    log.error("error_id=%s %s %s", error_id, request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "the server failed to handle this request; the error_id "
                          "identifies it in the server log", error_id=error_id)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(LoopmlError, _loopml)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
