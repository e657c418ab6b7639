"""Who is calling: bearer-token authentication (an ASGI middleware) and route authorization (a dependency).

Authentication runs before routing, for every path that is not public, whatever the method: a request with
no valid ``Authorization: Bearer`` token gets 401 even for a path that does not exist. Cookies are never
read, so a cross-site form post carries no identity (no CSRF). In single-user mode (loopback only) the
OS user is the identity and requests from other addresses are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from loopml.api import policy
from loopml.api._errors import error_response
from loopml.core import context, identity, tokens
from loopml.errors import AuthenticationError, LoopmlError, PermissionDenied

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class Principal:
    """The caller: user name, roles, and the token used (None in single-user mode)."""

    user: str
    roles: frozenset[str]
    token_id: str | None = None


def _bearer(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            scheme, _, secret = value.decode("latin-1").partition(" ")
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
    user = context.current_user()
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


def authorize(request: Request) -> Principal:
    """Router dependency: refuse unless the matched route has a policy and the caller holds one of its roles."""
    caller = principal(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "")
    rule = policy.rule_for(request.method, template)
    if rule is None:
        raise PermissionDenied(f"{request.method} {template} has no authorization policy, so it is refused; "
                               "add it to loopml.api.policy.POLICY")
    if not caller.roles & rule.roles:
        raise PermissionDenied(
            f"{caller.user} may not {request.method} {template}: it needs one of the roles "
            f"{sorted(rule.roles)} and {caller.user} has {sorted(caller.roles)}; an admin can grant one with "
            f"'loopml users grant {caller.user} ROLE'", user=caller.user)
    return caller
