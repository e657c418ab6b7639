"""data: the dataset catalog (one row per dataset version)

Revision ID: data_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "data_0001"
down_revision = None
branch_labels = ("data",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
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
    op.create_index("ix_dataset_versions_name", "dataset_versions", ["name"])


def downgrade() -> None:
    op.drop_table("dataset_versions")
