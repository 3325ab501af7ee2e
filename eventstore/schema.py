"""The event log's tables, as SQLAlchemy Core `Table`s the queries are built from.

The tables themselves are created by the Alembic revisions in `migrations/` (frozen
copies, so that old revisions never change when this module does); a test checks that
the two agree. The same schema serves SQLite and PostgreSQL, with three dialect
differences hidden in column types:

- `events.data` is PostgreSQL `json` (kept byte for byte, so the hash chain can be
  checked against the stored text; `jsonb` would reorder keys) and SQLite `TEXT`.
- `events.stream` is `COLLATE "C"` on PostgreSQL, so a prefix is a byte range the
  (stream, version) index can scan whatever the database's locale.
- Timestamps are `timestamptz` on PostgreSQL and UTC text on SQLite; both come back as
  timezone-aware UTC `datetime`s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, UserDefinedType

APPEND_ONLY_MARKER = "sluice: events are append-only"
"""Start of the message the database triggers raise on UPDATE, DELETE or TRUNCATE."""


class _PgJsonText(UserDefinedType[str]):
    """PostgreSQL `json` carried as text both ways (no parse on read, exact bytes)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSON"

    def bind_expression(self, bindvalue: Any) -> Any:
        # Multi-row VALUES resolve untyped parameters to text, which PostgreSQL will not
        # assign to json without a cast.
        return sa.cast(sa.type_coerce(bindvalue, sa.Text), postgresql.JSON)

    def column_expression(self, colexpr: Any) -> Any:
        return sa.cast(colexpr, sa.Text)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both engines (SQLite stores naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite compares these as text: one zone and one format keep the order right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


JsonText = sa.Text().with_variant(_PgJsonText(), "postgresql")
StreamName = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    # PostgreSQL: (writer's transaction id << 20) + index in the transaction, see
    # eventstore/dialects.py; SQLite: 1, 2, 3… (writes are serialized).
    sa.Column("position", BigId, primary_key=True, autoincrement=False),
    sa.Column("stream", StreamName, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("data", JsonText, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("causation_id", sa.Text),
    sa.Column("correlation_id", sa.Text),
    sa.Column("idempotency_key", sa.Text),
    sa.Column("prev_hash", sa.Text),
    sa.Column("hash", sa.Text, nullable=False),
    sa.UniqueConstraint("stream", "version", name="uq_events_stream_version"),
)

work_items = sa.Table(
    "work_items",
    metadata,
    sa.Column("seq", BigId, sa.Identity(), primary_key=True),
    sa.Column("key", sa.Text, nullable=False, unique=True),
    sa.Column("execution_id", sa.Text, nullable=False),
    sa.Column("task_run_id", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("available_at", UtcDateTime),
    sa.Column("payload", JsonText, nullable=False),
    sa.Column("leased_by", sa.Text),
    sa.Column("lease_token", sa.Text),
    sa.Column("lease_expires", UtcDateTime),
)

task_logs = sa.Table(
    "task_logs",
    metadata,
    sa.Column("id", BigId, sa.Identity(), primary_key=True),
    sa.Column("execution_id", sa.Text, nullable=False),
    sa.Column("task_run_id", sa.Text),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)
