"""What differs between SQLite and PostgreSQL: where an append starts, and what is safe
to read.

**Positions and the gap-free rule on PostgreSQL.** Transactions commit in any order,
so with positions from a sequence a reader tailing the log could see position 11
(committed) while position 10 is still in flight, move its checkpoint past 10, and
never see it. Filtering on the writer's transaction id is not enough on its own either:
a transaction that got its id first can draw the *later* position. So on PostgreSQL a
position is ``(writer's xid << 20) + index within the transaction``, and a reader only
reads positions below ``pg_snapshot_xmin(pg_current_snapshot()) << 20``: every
transaction under the horizon has ended, and every transaction that can still write
has an xid at or above it, hence positions above everything already read. Positions
are increasing and unique but not dense; one transaction holds at most 2**20 - 1
events. A long-open writing transaction anywhere in the cluster holds readers back
(never makes them skip).

**SQLite** serializes writers (`BEGIN IMMEDIATE`), so positions are 1, 2, 3… in
commit order and everything committed is safe to read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sluice.core.errors import DuplicateEventError, EventLogError
from sluice.core.ports import ANY_VERSION, StreamAppend
from sluice.eventstore.chain import EVENT_COLUMNS, EventRow, Head
from sluice.eventstore.database import WriteRaceError
from sluice.eventstore.schema import events, work_items

XID_SHIFT = 20
MAX_EVENTS_PER_TRANSACTION = (1 << XID_SHIFT) - 1

_PG_HEADS = sa.text(
    """
    SELECT s.stream, e.version, e.hash, pg_current_xact_id()::text::bigint AS base
    FROM unnest(CAST(:streams AS text[])) AS s(stream)
    LEFT JOIN LATERAL (
        SELECT version, hash FROM events
        WHERE events.stream = s.stream ORDER BY version DESC LIMIT 1
    ) AS e ON true
    """
)
_SQLITE_HEADS = sa.text(
    """
    SELECT s.value AS stream, e.version, e.hash,
           (SELECT coalesce(max(position), 0) FROM events) AS base
    FROM json_each(:streams) AS s
    LEFT JOIN events AS e ON e.stream = s.value
        AND e.version = (SELECT max(version) FROM events AS x WHERE x.stream = s.value)
    """
)
_COLUMNS = ", ".join(EVENT_COLUMNS)
_SQLITE_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)
_PG_INSERT = (
    f"INSERT INTO events ({_COLUMNS}) VALUES "
    + "("
    + ", ".join("%s::json" if column == "data" else "%s" for column in EVENT_COLUMNS)
    + ")"
)
_PG_COPY = f"COPY events ({_COLUMNS}) FROM STDIN"
COPY_FROM_ROWS = 8
"""From this many rows on, PostgreSQL appends with COPY (below, its extra round trip
costs more than it saves)."""

_PG_LOCK = sa.text(
    # unnest yields the (sorted) array in order, so the locks are taken in that order.
    "SELECT pg_advisory_xact_lock(hashtextextended(s, 0))"
    " FROM unnest(CAST(:streams AS text[])) AS s"
)
_PG_HORIZON = sa.select(
    sa.literal_column(
        f"pg_snapshot_xmin(pg_current_snapshot())::text::bigint << {XID_SHIFT}"
    )
).scalar_subquery()


class LogDialect:
    """The dialect-specific statements of one event log (SQLite or PostgreSQL)."""

    def __init__(self, name: str) -> None:
        if name not in ("sqlite", "postgresql"):
            raise EventLogError(f"unsupported database dialect {name!r}")
        self.name = name
        self.postgres = name == "postgresql"

    def heads(
        self, conn: sa.Connection, appends: Sequence[StreamAppend], queue: bool
    ) -> tuple[int, dict[str, Head]]:
        """The first position this transaction may use, and where each stream ends.

        With `queue` (a retry after a lost race), on PostgreSQL the streams appended
        to at ANY_VERSION are locked first, in name order so that two transactions
        cannot deadlock: writers at the end of one hot stream then queue instead of
        racing again. A first attempt does not lock: that would cost a round trip
        on every append for a race that is rare.
        """
        streams = sorted({append.stream for append in appends})
        if self.postgres:
            anywhere = {a.stream for a in appends if a.expected_version == ANY_VERSION}
            if queue and anywhere:
                conn.execute(_PG_LOCK, {"streams": sorted(anywhere)})
            rows = conn.execute(_PG_HEADS, {"streams": streams}).all()
        else:
            rows = conn.execute(_SQLITE_HEADS, {"streams": json.dumps(streams)}).all()
        if not rows:
            return 1, {}
        base = rows[0].base << XID_SHIFT if self.postgres else rows[0].base
        found = {
            r.stream: Head(r.version, r.hash) for r in rows if r.version is not None
        }
        return base + 1, found

    def insert_events(self, conn: sa.Connection, rows: Sequence[EventRow]) -> None:
        """Insert prepared rows in the caller's transaction, the fastest way there is.

        Rows go to the driver as tuples: SQLAlchemy's per-row parameter processing
        was a third of the time of a batch. On PostgreSQL a batch goes through COPY:
        a multi-row INSERT of 100 rows spent half its time in psycopg rewriting the
        1,200 placeholders (statements that long are not cached).

        Raises:
            DuplicateEventError: an idempotency key is recorded already.
            WriteRaceError: another transaction appended the same stream version.
        """
        try:
            if not self.postgres:
                conn.exec_driver_sql(_SQLITE_INSERT, list(rows))
                return
            # Index entries go in by stream name, so that two transactions appending
            # to the same streams wait for each other in one order (no deadlock).
            ordered = sorted(rows, key=attrgetter("stream"))
            if len(rows) < COPY_FROM_ROWS:
                conn.exec_driver_sql(_PG_INSERT, ordered)
            else:
                self._copy_events(conn, ordered)
        except sa.exc.IntegrityError as err:
            translated = _unique_violation(err, rows)
            if translated is None:
                raise
            raise translated from err

    @staticmethod
    def _copy_events(conn: sa.Connection, rows: Sequence[EventRow]) -> None:
        driver: Any = conn.connection.driver_connection
        try:
            with driver.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as err:
            # Past SQLAlchemy here: wrap the driver's error as it would have.
            raise sa.exc.DBAPIError.instance(
                _PG_COPY, None, err, psycopg.Error
            ) from err

    def check_batch_size(self, count: int) -> None:
        """Refuse a transaction with more events than positions can number."""
        if self.postgres and count > MAX_EVENTS_PER_TRANSACTION:
            raise EventLogError(
                f"{count} events in one transaction: at most "
                f"{MAX_EVENTS_PER_TRANSACTION} fit; append them in several calls"
            )

    def readable(self) -> Any:
        """A condition on `events` keeping only rows a gap-free reader may read now."""
        return events.c.position < _PG_HORIZON if self.postgres else sa.true()

    def lease_token(self) -> Any:
        """A fresh random token for each claimed row, made by the database."""
        if self.postgres:
            return sa.cast(sa.func.gen_random_uuid(), sa.Text)
        return sa.func.lower(sa.func.hex(sa.func.randomblob(16)))

    def insert_work(self) -> Any:
        """An INSERT into `work_items` keeping the existing item on a repeated key."""
        module: Any = postgresql if self.postgres else sqlite
        return module.insert(work_items).on_conflict_do_nothing(index_elements=["key"])


def _unique_violation(
    err: sa.exc.IntegrityError, rows: Sequence[EventRow]
) -> Exception | None:
    """What a unique violation on `events` means for the caller (None: not ours)."""
    diag = getattr(err.orig, "diag", None)  # PostgreSQL names what clashed
    constraint = getattr(diag, "constraint_name", None) or ""
    message = str(err.orig)
    if "idempotency_key" in constraint or "events.idempotency_key" in message:
        keys = sorted({r.idempotency_key for r in rows if r.idempotency_key})
        shown = ", ".join(keys[:5]) + (" …" if len(keys) > 5 else "")
        which = getattr(diag, "message_detail", None) or f"one of [{shown}]"
        return DuplicateEventError(
            f"idempotency key recorded already ({which}); nothing was written"
        )
    if "stream_version" in constraint or "events.stream, events.version" in message:
        streams = sorted({r.stream for r in rows})
        return WriteRaceError(
            f"another writer appended to {', '.join(streams)} meanwhile"
        )
    return None
