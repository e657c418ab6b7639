"""features: feature group definitions, offline ingest manifest, materialization watermarks

Revision ID: features_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "features_0001"
down_revision = None
branch_labels = ("features",)
depends_on = "core_0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feature_groups",
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
    op.create_table(
        "feature_ingests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("group_name", sa.String(63), nullable=False),
        sa.Column("group_version", sa.Integer, nullable=False),
        sa.Column("written_at", _TS, nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("overlaps", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_feature_ingests_group_name", "feature_ingests", ["group_name"])
    op.create_table(
        "feature_watermarks",
        sa.Column("group_name", sa.String(63), primary_key=True),
        sa.Column("store", sa.String(400), primary_key=True),
        sa.Column("watermark", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("feature_watermarks", "feature_ingests", "feature_groups"):
        op.drop_table(table)
