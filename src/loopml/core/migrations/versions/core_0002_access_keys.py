"""core: AWS-style access key pairs as tokens (access key id, secret sealed with the server's key)

Revision ID: core_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("access_key_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("secret_box", sa.Text, nullable=True))
        batch.create_unique_constraint("uq_tokens_access_key_id", ["access_key_id"])


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_constraint("uq_tokens_access_key_id", type_="unique")
        batch.drop_column("secret_box")
        batch.drop_column("access_key_id")
