"""AWS-style access key pairs for a loopml identity, so any AWS SDK can sign requests (SigV4) as that identity.

A key pair is a token (``loopml tokens list`` / ``revoke`` show and end it like any other): an access key id
(``LKIA`` + 16 characters, public, sent in every request) and a secret access key shown exactly once. SigV4
is an HMAC keyed by the secret, so the server needs the secret itself to check a signature, not a hash of
it: the secret is stored sealed with AES-GCM under the server's key (``LOOPML_SECRETS_KEY``, 32 bytes in
base64, or the file ``<home>/keys/secrets.key`` made on first use, mode 0600) with the access key id as
associated data. A copy of the database alone yields no usable secret (docs/decisions.md, 24).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.config import get_settings
from loopml.core import audit, context, identity, tokens
from loopml.core._tables import tokens as tokens_table
from loopml.errors import ValidationError

KEY_ID_PREFIX = "LKIA"
_ALPHABET = string.ascii_uppercase + "234567"


class UnknownAccessKey(Exception):
    """No active key pair has this access key id (unknown, revoked or expired)."""


@dataclass(frozen=True)
class KeyPair:
    """A key pair as issued: the secret is only ever in this object, once."""

    access_key_id: str
    secret_access_key: str
    token: tokens.Token


def _server_key() -> bytes:
    raw = get_settings().secrets_key
    if raw:
        try:
            key = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ValidationError("LOOPML_SECRETS_KEY must be 32 bytes in base64 (e.g. the output of "
                                  "'python -c \"import os,base64;print(base64.b64encode(os.urandom(32)).decode())\"')")
        return key
    path = context.get_settings().ensure_home() / "keys" / "secrets.key"
    if not path.exists():
        _create_key_file(path)
    key = base64.b64decode(path.read_bytes().strip())
    if len(key) != 32:
        raise ValidationError(f"the server key file {path.name} in the home's keys folder is damaged; restore it "
                              "from a backup (key pairs sealed with it cannot be checked without it)")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(os.urandom(32)) + b"\n")


def _seal(secret: str, key_id: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    box = AESGCM(_server_key()).encrypt(nonce, secret.encode(), key_id.encode())
    return "v1:" + base64.b64encode(nonce + box).decode()


def _open(box: str, key_id: str) -> str:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(box.removeprefix("v1:"))
    try:
        return AESGCM(_server_key()).decrypt(raw[:12], raw[12:], key_id.encode()).decode()
    except InvalidTag:
        raise ValidationError(f"the secret of access key {key_id} cannot be unsealed with this server's key "
                              "(LOOPML_SECRETS_KEY or the home's keys/secrets.key changed); issue a new key pair") from None


def create(conn: Connection, user: str, *, actor: str, expires_in: timedelta | None = None,
           description: str = "") -> KeyPair:
    """Issue a key pair for ``user`` (the actor must be ``user`` or an admin, as for tokens); audited.

    The token row gets a random, never-shown bearer hash, so the pair works only for SigV4-signed requests.
    """
    _, token = tokens.create(conn, user, actor=actor, expires_in=expires_in, description=description)
    key_id = KEY_ID_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    conn.execute(tokens_table.update().where(tokens_table.c.id == token.id).values(
        access_key_id=key_id, secret_box=_seal(secret, key_id),
        token_hash=hashlib.sha256(b"aws:" + secrets.token_bytes(32)).hexdigest()))
    audit.append(conn, actor=actor, action="token.access_key", resource=f"token:{token.id}",
                 details={"user": user, "access_key_id": key_id})
    return KeyPair(key_id, secret, token)


def secret_for(conn: Connection, access_key_id: str) -> tuple[tokens.Token, str, frozenset[str]]:
    """The active key pair's token, its secret and its user's current roles.

    Raises:
        UnknownAccessKey: no such key id, or its token was revoked or has expired.
    """
    row = conn.execute(sa.select(tokens_table).where(tokens_table.c.access_key_id == access_key_id)).first()
    if row is None or row.secret_box is None:
        raise UnknownAccessKey(access_key_id)
    token = tokens._token(row)
    if not token.is_active():
        raise UnknownAccessKey(access_key_id)
    return token, _open(row.secret_box, access_key_id), identity.roles_of(conn, token.user)


def access_key_ids(conn: Connection, token_ids: list[str]) -> dict[str, str]:
    """token id -> access key id, for the key pairs among ``token_ids`` (for listings)."""
    if not token_ids:
        return {}
    query = sa.select(tokens_table.c.id, tokens_table.c.access_key_id).where(
        tokens_table.c.id.in_(token_ids), tokens_table.c.access_key_id.is_not(None))
    return {row.id: row.access_key_id for row in conn.execute(query)}
