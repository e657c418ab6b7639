"""Bearer tokens for the control plane: created once, stored as a sha256, revocable, optionally expiring.

A token secret is shown exactly once, when it is created; the ``tokens`` table keeps only its sha256, so a
copy of the database gives nobody a usable token. :func:`verify` turns a presented secret into the
:class:`Token` it names, or raises :class:`~loopml.errors.AuthenticationError` when the secret is unknown,
revoked or expired. Creating a token for someone else, listing everyone's tokens and revoking someone
else's token need the ``admin`` role; every change is in the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, checks, clock, identity, ids
from loopml.core._tables import tokens
from loopml.errors import AuthenticationError, NotFoundError, PermissionDenied, ValidationError

PREFIX = "lml_"
MAX_LIFETIME = timedelta(days=3650)


@dataclass(frozen=True)
class Token:
    """What is stored about a token (never its secret)."""

    id: str
    user: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    description: str

    def is_active(self, now: datetime | None = None) -> bool:
        """Not revoked and not past its expiry."""
        now = now or clock.now()
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _token(row: sa.Row[Any]) -> Token:
    expires = clock.as_utc(row.expires_at) if row.expires_at is not None else None
    revoked = clock.as_utc(row.revoked_at) if row.revoked_at is not None else None
    return Token(row.id, row.user_name, clock.as_utc(row.created_at), expires, revoked, row.description)


def _check_lifetime(expires_in: timedelta | None) -> None:
    if expires_in is not None and not timedelta(seconds=1) <= expires_in <= MAX_LIFETIME:
        raise ValidationError(
            f"token lifetime {expires_in} is out of range; give between 1 second and {MAX_LIFETIME.days} days, "
            "or no expiry", expires_in=str(expires_in))


def lifetime(days: float | None) -> timedelta | None:
    """A token lifetime from a number of days (None: until revoked), checked before anything is created.

    Raises:
        ValidationError: NaN, infinite, zero or negative, or longer than the longest lifetime allowed.
    """
    if days is None:
        return None
    days = checks.number(days, "expires_days", above=0, high=MAX_LIFETIME.days)
    expires_in = timedelta(days=days)
    _check_lifetime(expires_in)
    return expires_in


def create(
    conn: Connection, user: str, *, actor: str, expires_in: timedelta | None = None, description: str = ""
) -> tuple[str, Token]:
    """Create a token for ``user``; returns ``(secret, token)``. The secret cannot be shown again.

    Args:
        conn: a write connection (the token and its audit event commit together).
        user: whose identity the token carries; its roles are looked up at every request.
        actor: who creates it; must be ``user`` or an admin.
        expires_in: lifetime (None: until revoked).
        description: a note such as ``"CI deploy job"``.

    Raises:
        PermissionDenied: the actor is neither ``user`` nor an admin.
        ValidationError: a bad user name, lifetime or description.
    """
    if not user or len(user) > 200 or user.startswith(identity.AUTOMATION_PREFIX) or not user.isprintable():
        raise ValidationError(f"{user!r} is not a valid user name for a token", user=user)
    if len(description) > 400:
        raise ValidationError(f"token description is {len(description)} characters; at most 400 are allowed")
    _check_lifetime(expires_in)
    if actor != user:
        identity.require_role(conn, actor, "admin", action=f"create a token for {user}")
    else:
        identity.require_any_role(conn, actor, action="create a token")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = Token(ids.new_id("tok"), user, now, now + expires_in if expires_in else None, None, description)
    conn.execute(tokens.insert().values(
        id=token.id, user_name=user, token_hash=_hash(secret), created_at=now, expires_at=token.expires_at,
        revoked_at=None, description=description))
    audit.append(conn, actor=actor, action="token.create", resource=f"token:{token.id}",
                 details={"user": user, "expires_at": token.expires_at, "description": description})
    return secret, token


def verify(conn: Connection, secret: str) -> Token:
    """The active token whose secret this is.

    Raises:
        AuthenticationError: no such token, or it was revoked or has expired.
    """
    if not secret or len(secret) > 200:
        raise AuthenticationError("the bearer token is missing or malformed; send 'Authorization: Bearer <token>'")
    row = conn.execute(sa.select(tokens).where(tokens.c.token_hash == _hash(secret))).first()
    if row is None:
        raise AuthenticationError("the bearer token is not known; ask an admin for one with "
                                  "'loopml tokens create --user NAME'")
    token = _token(row)
    if token.revoked_at is not None:
        raise AuthenticationError(f"token {token.id} was revoked; ask an admin for a new one", token_id=token.id)
    if not token.is_active():
        raise AuthenticationError(f"token {token.id} expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; "
                                  "ask an admin for a new one", token_id=token.id)
    return token


def list_tokens(conn: Connection, *, user: str | None = None, actor: str) -> list[Token]:
    """Tokens, newest first: the actor's own, or (admins only) everyone's or ``user``'s."""
    if user != actor:
        identity.require_role(conn, actor, "admin", action="list other users' tokens")
    query = sa.select(tokens).order_by(tokens.c.created_at.desc(), tokens.c.id)
    if user is not None:
        query = query.where(tokens.c.user_name == user)
    return [_token(row) for row in conn.execute(query)]


def revoke(conn: Connection, token_id: str, *, actor: str) -> Token:
    """Revoke a token (its owner or an admin); revoking twice is harmless.

    Raises:
        PermissionDenied: the actor is not an admin and owns no token with that id (whether it exists or not).
        NotFoundError: no token has that id (admins only; others get PermissionDenied).
    """
    row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).first()
    if (row is None or row.user_name != actor) and not identity.has_role(conn, actor, "admin"):
        raise PermissionDenied(  # the same answer whether the token exists or not: no existence oracle
            f"{actor} may revoke only their own tokens, and {token_id!r} is not one of them; an admin can "
            "revoke any token", user=actor, token_id=token_id)
    if row is None:
        raise NotFoundError(f"no token has id {token_id!r}; 'loopml tokens list' shows them", token_id=token_id)
    if row.revoked_at is None:
        conn.execute(tokens.update().where(tokens.c.id == token_id).values(revoked_at=clock.now()))
        audit.append(conn, actor=actor, action="token.revoke", resource=f"token:{token_id}",
                     details={"user": row.user_name})
    return _token(conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).one())
