"""Tables owned by the data catalog: one row per dataset version."""

from __future__ import annotations

import sqlalchemy as sa

from loopml.core.db import metadata

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(63), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("artifact_sha256", sa.String(71), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("sql", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("lineage", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_dataset_versions_name_version"),
    sa.UniqueConstraint("name", "content_hash", name="uq_dataset_versions_name_content_hash"),
)
