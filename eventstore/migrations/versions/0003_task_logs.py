"""Task-run log lines, beside the events and outside execution state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "task_logs",
        sa.Column(
            "id", sa.BigInteger if pg else sa.Integer, sa.Identity(), primary_key=True
        ),
        sa.Column("execution_id", sa.Text, nullable=False),
        sa.Column("task_run_id", sa.Text),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_logs_execution", "task_logs", ["execution_id", "id"])


def downgrade() -> None:
    op.drop_table("task_logs")
