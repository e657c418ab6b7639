"""Tables owned by the feature store: definitions, the offline ingest manifest, materialization watermarks."""

from __future__ import annotations

import sqlalchemy as sa

from loopml.core.db import metadata

_TS = sa.DateTime(timezone=True)

feature_groups = sa.Table(
    "feature_groups",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_feature_groups_name_version"),
    sa.UniqueConstraint("name", "definition_hash", name="uq_feature_groups_name_definition_hash"),
)

feature_ingests = sa.Table(
    "feature_ingests",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("group_name", sa.String(63), nullable=False, index=True),
    sa.Column("group_version", sa.Integer, nullable=False),
    sa.Column("written_at", _TS, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("overlaps", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

feature_watermarks = sa.Table(
    "feature_watermarks",
    metadata,
    sa.Column("group_name", sa.String(63), primary_key=True),
    sa.Column("store", sa.String(400), primary_key=True),
    sa.Column("watermark", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)
