"""serve: an async request keeps the caller's Accept and CustomAttributes for the worker that runs it

Revision ID: serve_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "serve_0003"
down_revision = "serve_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("serve_async_requests", sa.Column("accept", sa.String(1024), nullable=True))
    op.add_column("serve_async_requests", sa.Column("custom_attributes", sa.String(1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("serve_async_requests") as batch:
        batch.drop_column("custom_attributes")
        batch.drop_column("accept")
