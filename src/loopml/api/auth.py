"""Who is calling: bearer-token authentication (an ASGI middleware) and route authorization.

Authentication runs before routing, for every path that is not public, whatever the method: a request with
no valid ``Authorization: Bearer`` token gets 401 even for a path that does not exist. Cookies are never
read, so a cross-site form post carries no identity (no CSRF). In single-user mode (loopback only) the
OS user is the identity and requests from other addresses are refused.

Authorization runs once a route matched and before anything of the route runs: :class:`PolicyRoute` checks
the policy table before the body is parsed, parameters are validated or the route looks anything up, so a
refused caller gets 403 whether or not the object exists (no existence oracle) and whatever it sent.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from loopml.api import _sagemaker, policy
from loopml.api._errors import error_response
from loopml.core import context, identity, sigv4, tokens
from loopml.errors import AuthenticationError, LoopmlError, PermissionDenied

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class Principal:
    """The caller: user name, roles, and the token used (None in single-user mode)."""

    user: str
    roles: frozenset[str]
    token_id: str | None = None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            header: str = value.decode("latin-1")
            scheme, _, secret = header.partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
            break
    raise AuthenticationError("this route needs a bearer token: send 'Authorization: Bearer <token>' "
                              "(create one with 'loopml tokens create --user NAME')")


def _principal_for(secret: str) -> Principal:
    with context.get_db().read() as conn:
        token = tokens.verify(conn, secret)
        return Principal(token.user, identity.roles_of(conn, token.user), token.id)


def _local_principal() -> Principal:
    user = context.claimed_user()
    with context.get_db().read() as conn:
        return Principal(user, identity.roles_of(conn, user))


def is_suspicious_path(path: str) -> bool:
    """Whether a request path hides a traversal or encoding trick (checked after full decoding)."""
    decoded = path
    for _ in range(3):
        decoded = unquote(decoded)
    parts = decoded.replace("\\", "/").split("/")
    return any(p in ("..", ".") for p in parts) or "\x00" in decoded or "\\" in path or "%" in decoded or \
        not decoded.isprintable() or "//" in path


class AuthMiddleware:
    """Authenticates every non-public request and stores the :class:`Principal` in ``request.state``."""

    def __init__(self, app: ASGIApp, *, single_user: bool = False) -> None:
        self.app = app
        self.single_user = single_user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if is_suspicious_path(scope.get("raw_path", b"").decode("latin-1") or path) or is_suspicious_path(path):
            await error_response(400, "bad_request", "the request path contains '..', '.', '//', a backslash, "
                                 "an encoded character or NUL; use plain names")(scope, receive, send)
            return
        if policy.is_public(path):
            await self.app(scope, receive, send)
            return
        if sigv4.is_sigv4(_header(scope, b"authorization")):  # an AWS SDK: a key pair from 'tokens create --aws'
            await _sagemaker.authenticated(self.app, scope, receive, send)
            return
        try:
            principal = await anyio.to_thread.run_sync(self._authenticate, scope)
        except LoopmlError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
            await error_response(exc.http_status, exc.code, exc.message, headers=headers)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _authenticate(self, scope: Scope) -> Principal:
        if not self.single_user:
            return _principal_for(_bearer(scope))
        client = (scope.get("client") or ("", 0))[0]
        if client not in LOOPBACK:
            raise PermissionDenied(f"single-user mode serves only this machine; {client} is not loopback")
        return _local_principal()


def principal(request: Request) -> Principal:
    """The authenticated caller (set by :class:`AuthMiddleware`)."""
    found: Any = getattr(request.state, "principal", None)
    if not isinstance(found, Principal):
        raise AuthenticationError("this route needs a bearer token: send 'Authorization: Bearer <token>'")
    return found


def check(caller: Principal, method: str, template: str) -> Principal:
    """Refuse unless the route ``(method, template)`` has a policy that admits the caller's roles.

    Raises:
        PermissionDenied: no policy for the route, or the caller holds none of its roles (or no role at all).
    """
    rule = policy.rule_for(method, template)
    if rule is None:
        raise PermissionDenied(f"{method} {template} has no authorization policy, so it is refused; "
                               "add it to loopml.api.policy.POLICY")
    if not rule.admits(caller.roles):
        held = sorted(caller.roles) or "no role"
        raise PermissionDenied(
            f"{caller.user} may not {method} {template}: it needs one of the roles {sorted(rule.roles)} and "
            f"{caller.user} has {held}; an admin can grant one with 'loopml users grant {caller.user} ROLE'",
            user=caller.user)
    return caller


def authorize(request: Request) -> Principal:
    """Route dependency: the caller, once the matched route's policy admits it (see :func:`check`)."""
    route = request.scope.get("route")
    return check(principal(request), request.method, getattr(route, "path", ""))


class PolicyRoute(APIRoute):
    """An API route whose policy is checked before its body is read, its parameters validated or its handler run."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        template = self.path
        if policy.is_public(template):
            return handler

        async def guarded(request: Request) -> Response:
            check(principal(request), request.method, template)
            return await handler(request)

        return guarded
