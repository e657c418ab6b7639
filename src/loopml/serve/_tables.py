"""Tables of the serving stage: endpoints, capture files, ground truth, async requests, events, transforms,
and the digests of transform inputs (reused while a file is unchanged)."""

from __future__ import annotations

import sqlalchemy as sa

from loopml.core.db import metadata

_TS = sa.DateTime(timezone=True)

endpoints = sa.Table(
    "serve_endpoints",
    metadata,
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

capture_files = sa.Table(
    "serve_capture_files",
    metadata,
    sa.Column("endpoint", sa.String(100), primary_key=True),
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("hour", sa.String(10), nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("key", sa.String(1000), nullable=True),  # under the capture root; None: an artifact (before 0002)
    sa.Index("ix_serve_capture_files_hour", "endpoint", "hour"),
)

ground_truth = sa.Table(
    "serve_ground_truth",
    metadata,
    sa.Column("endpoint", sa.String(100), primary_key=True),
    sa.Column("digest", sa.String(71), primary_key=True),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("uploaded_by", sa.String(200), nullable=False),
    sa.Column("uploaded_at", _TS, nullable=False),
)

async_requests = sa.Table(
    "serve_async_requests",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("endpoint", sa.String(100), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("input_digest", sa.String(71), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("accept", sa.String(1024), nullable=True),
    sa.Column("custom_attributes", sa.String(1024), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("expires_at", _TS, nullable=True),
    sa.Column("output_digest", sa.String(71), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.UniqueConstraint("endpoint", "idempotency_key", name="uq_serve_async_key"),
    sa.Index("ix_serve_async_pending", "endpoint", "status", "created_at"),
)

events = sa.Table(
    "serve_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(100), nullable=False, index=True),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("at", _TS, nullable=False),
)

transform_jobs = sa.Table(
    "serve_transform_jobs",
    metadata,
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

transform_shards = sa.Table(
    "serve_transform_shards",
    metadata,
    sa.Column("job_id", sa.String(40), primary_key=True),
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("completed_at", _TS, nullable=False),
)

file_digests = sa.Table(
    "serve_file_digests",
    metadata,
    sa.Column("path_key", sa.String(64), primary_key=True),  # sha256 hex of the resolved path
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("file_id", sa.String(60), nullable=False),  # "device:inode" (both may exceed a signed 64-bit int)
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("ctime_ns", sa.BigInteger, nullable=False),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("hashed_at_ns", sa.BigInteger, nullable=False),  # this machine's clock when hashing began
)
