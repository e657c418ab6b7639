"""core: artifacts, audit log (append-only), users, roles, tokens, leases

Revision ID: core_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource", sa.String(400), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    op.create_table(
        "users",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_name", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(40), primary_key=True),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_at", _TS, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_name", sa.String(200), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("description", sa.String(400), nullable=False, server_default=""),
        sa.UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
    )
    op.create_table(
        "leases",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    _make_audit_append_only()


def _make_audit_append_only() -> None:
    """The application cannot UPDATE or DELETE audit rows (RELIABILITY.md case 38)."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION loopml_audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION loopml_audit_append_only()"
    )


def downgrade() -> None:
    for table in ("leases", "tokens", "user_roles", "users", "audit_head", "audit_events", "artifacts"):
        op.drop_table(table)
