"""Tables of the event rules: the rules, the actions each took, and their cursor on the bus."""

from __future__ import annotations

import sqlalchemy as sa

from loopml.core.db import metadata

_TS = sa.DateTime(timezone=True)

rules = sa.Table(
    "event_rules",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("pattern", sa.JSON, nullable=False),
    sa.Column("actions", sa.JSON, nullable=False),
    sa.Column("cooldown_seconds", sa.Float, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

actions = sa.Table(
    "event_actions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("rule", sa.String(100), nullable=False, index=True),
    sa.Column("event_id", sa.String(40), nullable=False, index=True),
    sa.Column("action_index", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # STARTED | SUCCEEDED | FAILED | SKIPPED_COOLDOWN
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("ended_at", _TS, nullable=True),
    sa.UniqueConstraint("rule", "event_id", "action_index", name="uq_event_actions_once"),
)

cursors = sa.Table(
    "event_cursors",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
)
