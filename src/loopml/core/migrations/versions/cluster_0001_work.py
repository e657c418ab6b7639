"""cluster: which node of a Ray cluster runs (or ran) each piece of loopml work

Revision ID: cluster_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "cluster_0001"
down_revision = None
branch_labels = ("cluster",)
depends_on = "core_0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cluster_work",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("ref", sa.String(400), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("node_ip", sa.String(64), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
    )
    op.create_index("ix_cluster_work_ref", "cluster_work", ["ref"])


def downgrade() -> None:
    op.drop_table("cluster_work")
