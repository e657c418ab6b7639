"""Tables of the pipeline engine: definitions, executions and step executions (the lineage edges)."""

from __future__ import annotations

import sqlalchemy as sa

from loopml.core.db import metadata

_TS = sa.DateTime(timezone=True)

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("ref", sa.String(1000), nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("name", "definition_hash"),
)

executions = sa.Table(
    "pipeline_executions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("pipeline_id", sa.String(40), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("code", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("ended_at", _TS, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("resume_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cache", sa.Boolean, nullable=False, server_default=sa.true()),
)

step_executions = sa.Table(
    "step_executions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("execution_id", sa.String(40), nullable=False),
    sa.Column("step", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("cache_key", sa.String(64), nullable=True, index=True),
    sa.Column("cache_hit", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("output_digest", sa.String(71), nullable=True),
    sa.Column("output_media_type", sa.String(100), nullable=True),
    sa.Column("started_at", _TS, nullable=True),
    sa.Column("ended_at", _TS, nullable=True),
    sa.Column("duration_ms", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("logs", sa.Text, nullable=True),
    sa.UniqueConstraint("execution_id", "step"),
)
