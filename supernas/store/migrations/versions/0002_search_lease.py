"""One writer per search: a lease (owner + heartbeat) on each search; one supernet row per checkpoint.

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
    with op.batch_alter_table("searches") as batch:
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("supernets") as batch:
        batch.drop_index("ix_supernets_checkpoint_sha256")
        batch.create_index("ix_supernets_checkpoint_sha256", ["checkpoint_sha256"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("supernets") as batch:
        batch.drop_index("ix_supernets_checkpoint_sha256")
        batch.create_index("ix_supernets_checkpoint_sha256", ["checkpoint_sha256"], unique=False)
    with op.batch_alter_table("searches") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
