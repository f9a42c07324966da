"""Operations record what they changed; adapters can ask for a refresh.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("resource_changes", sa.JSON(), nullable=True))
    with op.batch_alter_table("adapters") as batch:
        batch.add_column(sa.Column("refresh_requested", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("adapters") as batch:
        batch.drop_column("refresh_requested")
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("resource_changes")
