"""registry: who vouched for the code a version runs (pyfunc pickles, inference scripts, extra skops types)

Revision ID: registry_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0002"
down_revision = "registry_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("trusted_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("trusted_by")
