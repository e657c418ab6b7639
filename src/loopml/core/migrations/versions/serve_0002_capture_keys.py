"""serve: where each capture file lives in SageMaker's layout (its key under the capture root)

Revision ID: serve_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "serve_0002"
down_revision = "serve_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("serve_capture_files", sa.Column("key", sa.String(1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("serve_capture_files") as batch:
        batch.drop_column("key")
