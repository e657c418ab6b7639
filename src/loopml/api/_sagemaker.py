"""SageMaker's runtime API on the control plane, for boto3 ``sagemaker-runtime`` and every other AWS SDK.

A client points ``endpoint_url`` at the control plane (one address for every endpoint, as SageMaker's
runtime is) and calls ``InvokeEndpoint`` (``POST /endpoints/{name}/invocations``) or ``InvokeEndpointAsync``
(``POST /endpoints/{name}/async-invocations``). Requests are signed with SigV4 by an access key pair that
``loopml tokens create --aws`` issued; the signature is checked here (:mod:`loopml.core.sigv4`), the
identity's roles are checked against :data:`loopml.api.policy.RUNTIME`, and the request is forwarded to the
endpoint's router over loopback. Errors are answered as an AWS JSON service answers (status, ``__type`` and
``x-amzn-ErrorType``), so an SDK raises the ``ClientError`` with the code AWS would give.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import anyio
import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from loopml.api import policy
from loopml.core import access_keys, context, sigv4
from loopml.errors import LoopmlError, NotFoundError, ValidationError

MAX_BODY = 6 * 1024 * 1024  # SageMaker's InvokeEndpoint payload limit
_ROUTE = re.compile(r"^/endpoints/([a-z0-9][a-z0-9\-]{0,62})/(invocations|async-invocations)$")
_FORWARD = {b"content-type": b"content-type", b"accept": b"accept",
            b"x-amzn-sagemaker-custom-attributes": b"x-amzn-sagemaker-custom-attributes",
            b"x-amzn-sagemaker-inference-id": b"x-amzn-sagemaker-inference-id",
            b"x-amzn-sagemaker-target-model": b"x-target-model",
            b"x-amzn-sagemaker-target-variant": b"x-amzn-sagemaker-target-variant"}


class AwsError(Exception):
    """An answer in AWS's error shape: ``code`` (``__type``), HTTP ``status``, message and modelled fields."""

    def __init__(self, code: str, message: str, *, status: int, **fields: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.fields = code, message, status, fields


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def send_aws_error(send: Send, exc: AwsError) -> None:
    body = json.dumps({"__type": exc.code, "message": exc.message, "Message": exc.message, **exc.fields}).encode()
    await send({"type": "http.response.start", "status": exc.status, "headers": [
        (b"content-type", b"application/x-amz-json-1.1"), (b"content-length", str(len(body)).encode()),
        (b"x-amzn-errortype", exc.code.encode()), (b"x-amzn-requestid", str(uuid.uuid4()).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read(receive: Receive, limit: int) -> bytes:
    parts, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise AwsError("ValidationError", "the client went away before sending the whole body", status=400)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise AwsError("ValidationError", f"the request body is over {limit} bytes; send fewer rows or use "
                           "InvokeEndpointAsync", status=413)
        parts.append(chunk)
        more = message.get("more_body", False)
    return b"".join(parts)


def _replay(body: bytes, rest: Receive) -> Receive:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            return await rest()  # after the body, only the disconnect can come
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _verify(scope: Scope, body: bytes) -> Any:
    """The principal a SigV4-signed request carries (runs in a worker thread: database and HMAC)."""
    from loopml.api.auth import Principal

    try:
        auth = sigv4.parse_authorization(_header(scope, b"authorization") or "")
    except sigv4.SignatureRefused as exc:
        raise AwsError(exc.code, exc.message, status=exc.status) from None
    try:
        with context.get_db().read() as conn:
            token, secret, roles = access_keys.secret_for(conn, auth.access_key_id)
    except access_keys.UnknownAccessKey:
        raise AwsError("UnrecognizedClientException", "The security token included in the request is invalid.",
                       status=403) from None
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
    try:
        sigv4.verify(secret, method=scope["method"], raw_path=scope.get("raw_path", b"").decode("latin-1")
                     or scope["path"], raw_query=scope.get("query_string", b"").decode("latin-1"),
                     headers=headers, body=body, auth=auth)
    except sigv4.SignatureRefused as exc:
        raise AwsError(exc.code, exc.message, status=exc.status) from None
    return Principal(token.user, roles, token.id)


async def authenticated(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Check a SigV4-signed request and pass it on with its principal (and its body replayed), or refuse it."""
    try:
        body = await _read(receive, MAX_BODY)
        principal = await anyio.to_thread.run_sync(_verify, scope, body)
    except AwsError as exc:
        await send_aws_error(send, exc)
        return
    scope.setdefault("state", {})["principal"] = principal
    await app(scope, _replay(body, receive), send)


class SageMakerRuntime:
    """ASGI middleware serving the two runtime routes; every other request goes on to the control plane."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._client: httpx.AsyncClient | None = None
        self._loop: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _ROUTE.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            self._authorize(scope, f"/endpoints/{{name}}/{match[2]}", match[1])
            if match[2] == "invocations":
                await self._invoke(scope, receive, send, match[1])
            else:
                await self._invoke_async(scope, receive, send, match[1])
        except AwsError as exc:
            await send_aws_error(send, exc)
        except LoopmlError as exc:
            await send_aws_error(send, _from_loopml(exc))

    def _authorize(self, scope: Scope, template: str, name: str) -> None:
        caller = scope.get("state", {}).get("principal")
        rule = policy.RUNTIME[("POST", template)]
        if caller is None or not rule.admits(caller.roles):
            action = "InvokeEndpoint" if template.endswith("/invocations") else "InvokeEndpointAsync"
            who = getattr(caller, "user", "anonymous")
            raise AwsError("AccessDeniedException", f"User: {who} is not authorized to perform: sagemaker:{action} on "
                           f"resource: endpoint/{name}; it needs one of the roles {sorted(rule.roles)} "
                           f"(an admin can grant one with 'loopml users grant {who} ROLE')", status=403)

    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(70.0))
            self._loop = loop
        return self._client

    async def _invoke(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        from loopml.serve.async_queue import check_header

        check_header("Accept", _header(scope, b"accept"))
        check_header("CustomAttributes", _header(scope, b"x-amzn-sagemaker-custom-attributes"), ascii_only=True)
        url = await anyio.to_thread.run_sync(_router_url, name)
        body = await _read(receive, MAX_BODY)
        headers = [(_FORWARD[k], v) for k, v in scope.get("headers", ()) if k in _FORWARD]
        try:
            answer = await self.client().post(url + "/invocations", content=body, headers=headers)
        except httpx.HTTPError:
            raise AwsError("ServiceUnavailable", f"endpoint {name} did not answer; retry", status=503) from None
        variant = answer.headers.get("x-variant")
        if answer.status_code != 200:
            raise _from_answer(answer, variant)
        out = [(b"content-type", answer.headers.get("content-type", "application/json").encode()),
               (b"content-length", str(len(answer.content)).encode()),
               (b"x-amzn-invoked-production-variant", (variant or "").encode()),
               (b"x-amzn-requestid", str(uuid.uuid4()).encode())]
        out += [(k.encode(), v.encode()) for k, v in answer.headers.items()
                if k in ("x-amzn-sagemaker-custom-attributes", "x-model-digest", "x-event-id")]
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": answer.content})

    async def _invoke_async(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        body = await _read(receive, MAX_BODY)
        doc = await anyio.to_thread.run_sync(_submit_async, name, body, scope)
        payload = json.dumps({"InferenceId": doc["inference_id"]}).encode()
        await send({"type": "http.response.start", "status": 202, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
            (b"x-amzn-sagemaker-outputlocation", doc["output"].encode()),
            (b"x-amzn-sagemaker-failurelocation", doc["failure"].encode()),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode())]})
        await send({"type": "http.response.body", "body": payload})


def _endpoint(name: str) -> Any:
    from loopml import serve

    try:
        return serve.get(name)
    except NotFoundError:
        raise AwsError("ValidationError", f"Endpoint {name} of account loopml not found.", status=400) from None


def _router_url(name: str) -> str:
    from loopml.serve import endpoints

    e = _endpoint(name)
    if e.mode == "async":
        raise AwsError("ValidationError", f"Endpoint {name} is an asynchronous endpoint; call InvokeEndpointAsync",
                       status=400)
    if not endpoints.is_running(e) or not e.runtime.get("url"):
        raise AwsError("ValidationError", f"Endpoint {name} is {endpoints.observed_status(e)}, not InService; "
                       "start it with 'loopml endpoint start-all'", status=400)
    return str(e.runtime["url"])


def _submit_async(name: str, body: bytes, scope: Scope) -> dict[str, str]:
    from loopml.serve import async_files, async_queue
    from loopml.serve.async_queue import parse_ttl

    e = _endpoint(name)
    if e.mode != "async":
        raise AwsError("ValidationError", f"Endpoint {name} is a {e.mode} endpoint; InvokeEndpointAsync needs an "
                       "async endpoint (use InvokeEndpoint)", status=400)
    location = _header(scope, b"x-amzn-sagemaker-inputlocation")
    if location:
        body = async_files.read_input(location, limit=int(e.config["server"]["max_body"]))
    elif not body:
        raise AwsError("ValidationError", "InputLocation is required: the S3 URI (under the async root "
                       f"{async_files.root()}) or artifact digest of the payload", status=400)
    req, _ = async_queue.submit(
        name, body, content_type=_header(scope, b"x-amzn-sagemaker-content-type") or "application/json",
        idempotency_key=_header(scope, b"x-amzn-sagemaker-inference-id"),
        ttl=parse_ttl(_header(scope, b"x-amzn-sagemaker-requestttlseconds")),
        max_attempts=int(e.config["async"]["max_attempts"]), accept=_header(scope, b"x-amzn-sagemaker-accept"),
        custom_attributes=_header(scope, b"x-amzn-sagemaker-custom-attributes"))
    return {"inference_id": req.idempotency_key, "output": async_files.output_location(name, req.id),
            "failure": async_files.failure_location(name, req.id)}


def _from_answer(answer: httpx.Response, variant: str | None) -> AwsError:
    """A router answer that is not 200, as SageMaker reports it: the model's own errors are ``ModelError``."""
    status, text = answer.status_code, answer.text[:4000]
    if variant is not None and status not in (429, 503):
        kind = "client" if status < 500 else "server"
        return AwsError("ModelError", f'Received {kind} error ({status}) from primary with message "{text}". See the '
                        f"endpoint's log ('loopml endpoint logs') for more information.", status=424,
                        OriginalStatusCode=status, OriginalMessage=text, LogStreamArn="")
    if status == 429:
        return AwsError("ThrottlingException", f"the endpoint is at its concurrency limit; retry: {text}", status=429)
    if status == 503:
        return AwsError("ServiceUnavailable", f"the endpoint is overloaded; retry: {text}", status=503)
    if status < 500:
        return AwsError("ValidationError", text, status=413 if status == 413 else 400)
    return AwsError("InternalFailure", text, status=500)


def _from_loopml(exc: LoopmlError) -> AwsError:
    if isinstance(exc, ValidationError | NotFoundError):
        return AwsError("ValidationError", exc.message, status=400)
    if exc.http_status == 403:
        return AwsError("AccessDeniedException", exc.message, status=403)
    if exc.http_status == 503:
        return AwsError("ServiceUnavailable", exc.message, status=503)
    return AwsError("InternalFailure", exc.message, status=500)
