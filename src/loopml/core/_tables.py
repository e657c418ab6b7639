"""Tables owned by the core: artifacts, the audit log, users and roles, API tokens, leases, cluster work, the
event bus."""

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
    # AWS-style key pairs (core.access_keys): the public key id, and the secret sealed with the server's key
    sa.Column("access_key_id", sa.String(40), nullable=True, unique=True),
    sa.Column("secret_box", sa.Text, nullable=True),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("epoch", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

cluster_work = sa.Table(
    "cluster_work",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("ref", sa.String(400), nullable=False, index=True),
    sa.Column("node_id", sa.String(64), nullable=False),
    sa.Column("node_ip", sa.String(64), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False, unique=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("detail_type", sa.String(200), nullable=False),
    sa.Column("resource", sa.String(300), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
