"""monitor: schedules, schedule slots, monitoring executions, alarms, alarm history, metric datapoints

Revision ID: monitor_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "monitor_0001"
down_revision = None
branch_labels = ("monitor",)
depends_on = "core_0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_schedules",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.UniqueConstraint("name", name="uq_monitor_schedules_name"),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("interval_seconds", sa.Float, nullable=True),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "monitor_schedule_slots",
        sa.Column("schedule_id", sa.String(40), primary_key=True),
        sa.Column("slot", _TS, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("claimed_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
    )
    op.create_table(
        "monitor_executions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("schedule", sa.String(100), nullable=True, index=True),
        sa.Column("endpoint", sa.String(100), nullable=False, index=True),
        sa.Column("monitor_type", sa.String(30), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("window_end", _TS, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("result", sa.String(30), nullable=False),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("violations", sa.Integer, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("report_digest", sa.String(71), nullable=True),
        sa.Column("violations_digest", sa.String(71), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "monitor_alarms",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("state_reason", sa.Text, nullable=False),
        sa.Column("state_updated_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "monitor_alarm_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alarm", sa.String(100), nullable=False, index=True),
        sa.Column("old_state", sa.String(30), nullable=False),
        sa.Column("new_state", sa.String(30), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("datapoints", sa.JSON, nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_table(
        "monitor_datapoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_monitor_datapoints_series", "monitor_datapoints", ["source", "metric", "at"])


def downgrade() -> None:
    for table in ("monitor_datapoints", "monitor_alarm_history", "monitor_alarms", "monitor_executions",
                  "monitor_schedule_slots", "monitor_schedules"):
        op.drop_table(table)
