"""Governance actions as use cases: grant and revoke roles, create and revoke tokens, read and verify the
audit log. Each opens its own transaction; the CLI and the REST API only call these, so they cannot drift.

Example:
    >>> from loopml.core import governance
    >>> governance.parse_anchor("12:" + "0" * 64)
    (12, '0000000000000000000000000000000000000000000000000000000000000000')
"""

from __future__ import annotations

import re

from loopml.core import access_keys, audit, context, identity, tokens
from loopml.core.audit import AuditEvent, VerifyResult
from loopml.core.identity import User
from loopml.core.tokens import Token
from loopml.errors import ValidationError

_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


def grant_role(user: str, role: str, *, actor: str) -> bool:
    """Grant ``role`` to ``user`` (needs admin; the very first admin may name themself).

    Returns:
        True when the role was added, False when ``user`` already had it.
    """
    with context.get_db().write() as conn:
        return identity.grant(conn, user, role, actor=actor)


def revoke_role(user: str, role: str, *, actor: str) -> bool:
    """Take ``role`` away from ``user`` (needs admin). Returns False when ``user`` did not have it."""
    with context.get_db().write() as conn:
        return identity.revoke(conn, user, role, actor=actor)


def list_users() -> list[User]:
    """Users with granted roles."""
    with context.get_db().read() as conn:
        return identity.list_users(conn)


def create_token(user: str, *, actor: str, expires_days: float | None = None,
                 description: str = "") -> tuple[str, Token]:
    """Create a bearer token for ``user`` (``actor`` is ``user`` or an admin); returns ``(secret, token)``.

    Raises:
        ValidationError: a bad user name, description, or lifetime (NaN, not above 0, too long).
        PermissionDenied: the actor is neither ``user`` nor an admin.
    """
    lifetime = tokens.lifetime(expires_days)
    with context.get_db().write() as conn:
        return tokens.create(conn, user, actor=actor, expires_in=lifetime, description=description)


def list_tokens(*, user: str | None, actor: str) -> list[Token]:
    """Tokens, newest first: ``user``'s (None: everyone's); another user's need admin."""
    with context.get_db().read() as conn:
        return tokens.list_tokens(conn, user=user, actor=actor)


def revoke_token(token_id: str, *, actor: str) -> Token:
    """Revoke a token at once (its owner or an admin); revoking twice is harmless."""
    with context.get_db().write() as conn:
        return tokens.revoke(conn, token_id, actor=actor)


def audit_log(*, resource: str | None = None, action: str | None = None, actor: str | None = None,
              limit: int = 50, offset: int = 0, newest_first: bool = True) -> list[AuditEvent]:
    """Audit events filtered by resource and action prefixes and by actor, newest first by default."""
    with context.get_db().read() as conn:
        return audit.events(conn, resource=resource, action=action, actor=actor, limit=limit, offset=offset,
                            newest_first=newest_first)


def parse_anchor(anchor: str) -> tuple[int, str]:
    """``SEQ:HASH`` (as :func:`audit_anchor` prints it) as ``(seq, hash)``.

    Raises:
        ValidationError: not ``SEQ:HASH`` with a 64-hex-digit hash.
    """
    found = _ANCHOR.match(anchor.strip())
    if found is None:
        raise ValidationError(f"anchor {anchor!r} must be SEQ:HASH as printed by 'loopml audit anchor' "
                              "(GET /api/v1/audit/verify returns it as 'head')", anchor=anchor)
    return int(found[1]), found[2]


def verify_audit(*, anchor: str | None = None) -> tuple[VerifyResult, tuple[int, str]]:
    """Walk the audit chain; with ``anchor`` (``SEQ:HASH`` kept from earlier) the chain must still hold it,
    which catches a truncated tail even when ``audit_head`` was rewritten too.

    Returns:
        The result and the current head ``(seq, hash)``.
    """
    pinned = parse_anchor(anchor) if anchor else None
    with context.get_db().read() as conn:
        return audit.verify(conn, anchor=pinned), audit.head(conn)


def audit_anchor() -> tuple[int, str]:
    """The current head of the audit chain, ``(seq, hash)``: keep it outside the database."""
    with context.get_db().read() as conn:
        return audit.head(conn)


def create_key_pair(user: str, *, actor: str, expires_days: float | None = None,
                    description: str = "") -> access_keys.KeyPair:
    """Create an AWS-style access key pair (SigV4) for ``user``; the secret is in the result only, once."""
    lifetime = tokens.lifetime(expires_days)
    with context.get_db().write() as conn:
        return access_keys.create(conn, user, actor=actor, expires_in=lifetime, description=description)


def access_key_ids(token_ids: list[str]) -> dict[str, str]:
    """token id -> access key id, for the tokens that are key pairs."""
    with context.get_db().read() as conn:
        return access_keys.access_key_ids(conn, token_ids)
