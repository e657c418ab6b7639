"""serve: endpoints, capture files, ground truth, async requests, events, transform jobs and shards

Revision ID: serve_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "serve_0001"
down_revision = None
branch_labels = ("serve",)
depends_on = "core_0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "serve_endpoints",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("desired", sa.String(20), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("deployment", sa.JSON, nullable=False),
        sa.Column("runtime", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "serve_capture_files",
        sa.Column("endpoint", sa.String(100), primary_key=True),
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("hour", sa.String(10), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_serve_capture_files_hour", "serve_capture_files", ["endpoint", "hour"])
    op.create_table(
        "serve_ground_truth",
        sa.Column("endpoint", sa.String(100), primary_key=True),
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploaded_at", _TS, nullable=False),
    )
    op.create_table(
        "serve_async_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("endpoint", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("input_digest", sa.String(71), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("output_digest", sa.String(71), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("endpoint", "idempotency_key", name="uq_serve_async_key"),
    )
    op.create_index("ix_serve_async_pending", "serve_async_requests", ["endpoint", "status", "created_at"])
    op.create_table(
        "serve_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_serve_events_endpoint", "serve_events", ["endpoint"])
    op.create_table(
        "serve_transform_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("input_digest", sa.String(71), nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "serve_transform_shards",
        sa.Column("job_id", sa.String(40), primary_key=True),
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("completed_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("serve_transform_shards")
    op.drop_table("serve_transform_jobs")
    op.drop_table("serve_events")
    op.drop_table("serve_async_requests")
    op.drop_table("serve_ground_truth")
    op.drop_table("serve_capture_files")
    op.drop_table("serve_endpoints")
