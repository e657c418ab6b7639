"""events: events, rules, actions taken, consumer cursors

Revision ID: events_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "events_0001"
down_revision = None
branch_labels = ("events",)
depends_on = "core_0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.UniqueConstraint("seq", name="uq_events_seq"),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("detail_type", sa.String(200), nullable=False),
        sa.Column("resource", sa.String(300), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "event_rules",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("pattern", sa.JSON, nullable=False),
        sa.Column("actions", sa.JSON, nullable=False),
        sa.Column("cooldown_seconds", sa.Float, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "event_actions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("rule", sa.String(100), nullable=False, index=True),
        sa.Column("event_id", sa.String(40), nullable=False, index=True),
        sa.Column("action_index", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.UniqueConstraint("rule", "event_id", "action_index", name="uq_event_actions_once"),
    )
    op.create_table(
        "event_cursors",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("event_cursors", "event_actions", "event_rules", "events"):
        op.drop_table(table)
