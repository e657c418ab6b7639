"""Tables of the model registry: groups, versions, the approval trail, aliases."""

from __future__ import annotations

import sqlalchemy as sa

from loopml.core.db import metadata

_TS = sa.DateTime(timezone=True)

model_groups = sa.Table(
    "model_groups",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("group_name", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("digest", sa.String(71), nullable=False, index=True),
    sa.Column("flavor", sa.String(40), nullable=False),
    sa.Column("signature", sa.JSON, nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("approved_digest", sa.String(71), nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("evaluation_digest", sa.String(71), nullable=True),
    sa.Column("lineage", sa.JSON, nullable=False),
    sa.Column("card", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("status_changed_by", sa.String(200), nullable=True),
    sa.Column("status_changed_at", _TS, nullable=True),
    sa.Column("trusted_by", sa.String(200), nullable=True),
)

model_transitions = sa.Table(
    "model_transitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("group_name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("from_status", sa.String(30), nullable=True),
    sa.Column("to_status", sa.String(30), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_model_transitions_group_version", "group_name", "version"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("group_name", sa.String(200), primary_key=True),
    sa.Column("alias", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)
