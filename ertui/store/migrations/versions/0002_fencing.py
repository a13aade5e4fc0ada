"""fencing: lease generations on claims and slots, a worker's process start
time, an MTA's last contact

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ertui.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("lease_gen", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("mta_slot") as batch:
        batch.add_column(sa.Column("gen", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("worker") as batch:
        batch.add_column(sa.Column("proc_start", sa.String(length=80), nullable=True))
    with op.batch_alter_table("mta") as batch:
        batch.add_column(sa.Column("last_contact_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_contact_result", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mta") as batch:
        batch.drop_column("last_contact_result")
        batch.drop_column("last_contact_at")
    with op.batch_alter_table("worker") as batch:
        batch.drop_column("proc_start")
    with op.batch_alter_table("mta_slot") as batch:
        batch.drop_column("gen")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("lease_gen")
