"""Tables owned by the core: artifacts, the audit log, users and roles, API tokens, leases."""

from __future__ import annotations

import sqlalchemy as sa

from loopml.core.db import metadata

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("resource", sa.String(400), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column("user_name", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(40), primary_key=True),
    sa.Column("granted_by", sa.String(200), nullable=False),
    sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("user_name", sa.String(200), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("description", sa.String(400), nullable=False, server_default=""),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("epoch", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
