"""Transport guards that sit in front of every route: request size limit and security headers."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loopml.api._errors import error_response

MAX_BODY = 1 << 20
RUNTIME_MAX_BODY = 6 * 1024 * 1024  # SageMaker's runtime routes (/endpoints/NAME/invocations) take 6 MiB payloads
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class _TooLarge(Exception):
    pass


class GuardMiddleware:
    """Refuses bodies over ``max_body`` bytes with 413 (before buffering them) and adds security headers."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = RUNTIME_MAX_BODY if scope.get("path", "").startswith("/endpoints/") else self.max_body
        declared = dict(scope.get("headers", ())).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = exceeded = False

        async def limited() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                exceeded = True
                raise _TooLarge
            return message

        async def with_headers(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's own answer to a body it could not read (a 400) gives way to the 413
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        try:
            await self.app(scope, limited, with_headers)
        except _TooLarge:
            pass
        if exceeded and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "too_large", f"request bodies are limited to {self.max_body} bytes")
        await response(scope, receive, send)


def host_name(header: str) -> str:
    """The name part of a ``Host`` header: ``[::1]:8000`` -> ``[::1]``, ``localhost:8000`` -> ``localhost``."""
    if header.startswith("["):
        return header[:header.find("]") + 1] if "]" in header else header
    return header.split(":", 1)[0]


class HostMiddleware:
    """Refuses a request whose ``Host`` is not one of ``allowed_hosts`` (a name, or ``*.suffix``) with a 400 in
    the error shape: the DNS-rebinding guard of a server bound to loopback."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed = [h.lower() for h in allowed_hosts]

    def is_allowed(self, header: str) -> bool:
        name = host_name(header.lower())
        return any(name == h or (h.startswith("*.") and name.endswith(h[1:])) for h in self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers", ())).get(b"host", b"").decode("latin-1")
            if not self.is_allowed(header):
                response = error_response(400, "bad_request", f"the Host header {header[:100]!r} is not one this "
                                          "server answers to; call it by the name it was started with (loopback "
                                          "by default, or a name given with --allowed-host)")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
