"""The work queue: task-run attempts to run, claimed with a lease.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "work_items",
        sa.Column(
            "seq", sa.BigInteger if pg else sa.Integer, sa.Identity(), primary_key=True
        ),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("execution_id", sa.Text, nullable=False),
        sa.Column("task_run_id", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True)),
        sa.Column("payload", postgresql.JSON if pg else sa.Text, nullable=False),
        sa.Column("leased_by", sa.Text),
        sa.Column("lease_token", sa.Text),
        sa.Column("lease_expires", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("key", name="uq_work_items_key"),
    )


def downgrade() -> None:
    op.drop_table("work_items")
