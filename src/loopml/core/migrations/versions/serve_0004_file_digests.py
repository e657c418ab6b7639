"""serve: the sha256 of each transform input, reused while the file's stat is unchanged

Revision ID: serve_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "serve_0004"
down_revision = "serve_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serve_file_digests",
        sa.Column("path_key", sa.String(64), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("file_id", sa.String(60), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("ctime_ns", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("hashed_at_ns", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("serve_file_digests")
