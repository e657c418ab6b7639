"""Tables of the training stage: experiments, runs, metric series and checkpoints."""

from __future__ import annotations

import sqlalchemy as sa

from loopml.core.db import metadata

_TS = sa.DateTime(timezone=True)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("experiment_id", sa.String(40), nullable=False, index=True),
    sa.Column("parent_id", sa.String(40), nullable=True, index=True),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=True),
    sa.Column("history", sa.JSON, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("code", sa.JSON, nullable=False),
    sa.Column("environment", sa.JSON, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("seed", sa.Integer, nullable=True),
    sa.Column("model_digest", sa.String(71), nullable=True),
    sa.Column("logs_digest", sa.String(71), nullable=True),
    sa.Column("compute_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("interrupted_seconds", sa.Float, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("started_at", _TS, nullable=True),
    sa.Column("ended_at", _TS, nullable=True),
    sa.Column("heartbeat_at", _TS, nullable=True),
)

run_params = sa.Table(
    "run_params",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("num", sa.Float, nullable=True),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Index("ix_metrics_run_id_key_step", "run_id", "key", "step"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("run_id", sa.String(40), primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(71), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)
