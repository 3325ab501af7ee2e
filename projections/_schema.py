"""What every projection shares: column types, the checkpoint table, the descriptor.

A projection owns one or more tables, defined once in `METADATA` under their live names.
Its tables are disposable: they are created here with `create_all(checkfirst=True)`, not
by the event store's migrations, and a schema change (seen through `schema_hash`) drops
and rebuilds them from the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from sluice.core.events import JsonValue, RecordedEvent

METADATA = sa.MetaData()
"""The live tables of every projection (and the checkpoints)."""

JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL (so label filters can use a GIN index)."""

SUMMARY_CHARS = 2000
"""How much of a task run's outputs the view keeps; the full outputs are in the log."""


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both dialects.

    SQLite has no time zone type: values are stored as naive UTC, which keeps them
    comparable as text, and read back as aware UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        """Normalise to UTC (naive on SQLite) before writing or comparing."""
        if value is None:
            return None
        value = (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )


CHECKPOINTS = sa.Table(
    "projection_checkpoints",
    METADATA,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("schema_hash", sa.String(64), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=True),
)
"""Where each projection (and each rebuild in progress) has read the log up to."""

Tables = Mapping[str, sa.Table]
"""A projection's tables by live name (the live tables, or their rebuild copies)."""

Apply = Callable[[Sequence[RecordedEvent], sa.Connection, Tables], None]


@dataclass(frozen=True)
class Projection:
    """A view of the log: its tables and how one event changes them.

    Attributes:
        name: the projection's name (`sluice projections rebuild NAME`).
        tables: its live tables; the first is the main one.
        apply: writes the effect of a batch of events (in log order) through `conn`
            into the given tables (the live ones or their rebuild copies); it must not
            commit: the runner commits the rows with the checkpoint.
        version: bump when `apply` changes meaning, so stored views are rebuilt.
    """

    name: str
    tables: tuple[sa.Table, ...]
    apply: Apply
    version: int = 1

    @property
    def live(self) -> Tables:
        """The live tables by name."""
        return {t.name: t for t in self.tables}

    @property
    def schema_hash(self) -> str:
        """A digest of the tables' shape and the version: a change forces a rebuild."""
        parts: list[str] = [self.name, str(self.version)]
        for table in self.tables:
            parts.append(table.name)
            parts += [
                f"{c.name}:{c.type!r}:{c.nullable}:{c.primary_key}" for c in table.c
            ]
            parts += sorted(
                f"{i.name}:{[c.name for c in i.columns]}" for i in table.indexes
            )
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


def pk_name(table_name: str) -> str:
    """The primary key constraint's name (PostgreSQL's own default, made explicit)."""
    return f"{table_name}_pkey"


def summary(value: JsonValue, limit: int = SUMMARY_CHARS) -> str | None:
    """JSON text of `value`, cut to `limit` characters (with a trailing ellipsis)."""
    if value is None or value == {}:
        return None
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def duration_ms(start: datetime | None, end: datetime | None) -> int | None:
    """Milliseconds from `start` to `end`, when both are known."""
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


def stream_id(stream: str, prefix: str) -> str | None:
    """The id part of a stream name (`execution/<id>` → `<id>`), if it has `prefix`."""
    head = prefix + "/"
    return stream[len(head) :] if stream.startswith(head) else None


def by_execution(events: Sequence[RecordedEvent]) -> list[tuple[str, RecordedEvent]]:
    """The events of `execution/<id>` streams, each with its execution id."""
    found = ((stream_id(e.stream, "execution"), e) for e in events)
    return [(execution_id, e) for execution_id, e in found if execution_id is not None]


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that takes the write lock at once (SQLite `BEGIN IMMEDIATE`).

    SQLite's deferred transactions read first and fail to upgrade to a write lock when
    another writer got there; taking it first makes concurrent runners queue instead.
    DDL inside it is transactional on both dialects.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            raw = conn.connection.driver_connection
            if raw is not None and not raw.in_transaction:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn
