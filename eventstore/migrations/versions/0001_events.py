"""The append-only events table, its indexes and the triggers that refuse rewrites.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Kept literally (not imported from schema.py): a revision must never change.
MARKER = "sluice: events are append-only"

PG_FUNCTION = f"""
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MARKER}: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a new event instead of changing or removing one.';
END
$$
"""
PG_TRIGGERS = [
    "CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events"
    " FOR EACH ROW EXECUTE FUNCTION events_append_only()",
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events"
    " FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()",
]
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER events_no_{op_name.lower()} BEFORE {op_name} ON events"
    f" BEGIN SELECT RAISE(ABORT, '{MARKER}: {op_name} refused on events'); END"
    for op_name in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    now = "now()" if pg else "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
    op.create_table(
        "events",
        sa.Column(
            "position", sa.BigInteger if pg else sa.Integer,
            primary_key=True, autoincrement=False,
        ),
        sa.Column(
            "stream", postgresql.TEXT(collation="C") if pg else sa.Text, nullable=False
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("data", postgresql.JSON if pg else sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False,
            server_default=sa.text(now),
        ),
        sa.Column("causation_id", sa.Text),
        sa.Column("correlation_id", sa.Text),
        sa.Column("idempotency_key", sa.Text),
        sa.Column("prev_hash", sa.Text),
        sa.Column("hash", sa.Text, nullable=False),
        sa.UniqueConstraint("stream", "version", name="uq_events_stream_version"),
    )
    not_null = sa.text("idempotency_key IS NOT NULL")
    op.create_index(
        "uq_events_idempotency_key", "events", ["idempotency_key"], unique=True,
        postgresql_where=not_null, sqlite_where=not_null,
    )
    # No index for listing streams by prefix: the (stream, version) index serves it,
    # and one more index on every new stream's first event cost a quarter of the
    # batched append rate on SQLite.
    for statement in [PG_FUNCTION, *PG_TRIGGERS] if pg else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.drop_table("events")  # drops its triggers too
    if pg:
        op.execute("DROP FUNCTION events_append_only()")
