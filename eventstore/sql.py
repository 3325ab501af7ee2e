"""The event log on SQLAlchemy Core: SQLite (the default) and PostgreSQL.

`open_event_log(url)` opens (and migrates) the database and returns a `SqlEventLog`,
which is both the `EventLog` and the `LogStore` of `sluice.core.ports`. Every call is
one transaction; `transaction()` and `append_many_in()` let a caller put its own writes
in the same transaction as an append.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sluice.core.errors import ConcurrencyConflictError
from sluice.core.events import NewEvent, RecordedEvent
from sluice.core.ports import (
    AppendResult,
    Lease,
    LogLine,
    StreamAppend,
    VerifyReport,
    WorkItem,
)
from sluice.eventstore import workqueue
from sluice.eventstore.chain import EVENT_COLUMNS, ChainChecker, plan_appends
from sluice.eventstore.codec import recorded_event
from sluice.eventstore.database import (
    WriteRaceError,
    check_connection,
    create_log_engine,
    hide_password,
    read_engine,
    translate_errors,
)
from sluice.eventstore.dialects import LogDialect
from sluice.eventstore.migrate import upgrade
from sluice.eventstore.schema import events, task_logs

RACE_RETRIES = 20
"""How often an append is retried after losing a race (or a deadlock) to a writer."""

_KEYS_PER_QUERY = 500
_LOG_COLUMNS = ("execution_id", "task_run_id", "attempt", "level", "message", "at")
_e = events.c
_READ = sa.select(*(_e[name] for name in EVENT_COLUMNS), _e.recorded_at)
"""The columns `codec.recorded_event` takes, in its order."""


def open_event_log(url: str, *, migrate: bool = True) -> SqlEventLog:
    """Open the event log at `url`, migrating its tables to the newest schema.

    Args:
        url: ``sqlite:///path/to/file.db`` or ``postgresql+psycopg://user:pw@host/db``.
        migrate: run the Alembic migrations (a no-op when the schema is current).

    Raises:
        DatabaseUnavailableError: the database cannot be reached or opened; the message
            names the URL with its password hidden.
    """
    engine = create_log_engine(url)
    try:
        check_connection(engine, url)
        if migrate:
            with translate_errors(url):
                upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlEventLog(engine, url)


class SqlEventLog:
    """The append-only event log, its work queue and task logs in one SQL database.

    Attributes:
        engine: the SQLAlchemy engine (other components keep their tables beside ours;
            on SQLite its transactions begin IMMEDIATE, see `eventstore.database`).
        dialect_name: "sqlite" or "postgresql".
    """

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.dialect_name: str = engine.dialect.name
        self._url = url
        self._dialect = LogDialect(self.dialect_name)
        self._reader = read_engine(engine)

    def __repr__(self) -> str:
        return f"SqlEventLog({hide_password(self._url)!r})"

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A write transaction (SQLite: the write lock up front), errors translated."""
        with translate_errors(self._url), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        with translate_errors(self._url), self._reader.connect() as conn:
            yield conn

    def _fetch(self, query: sa.Select[Any]) -> list[RecordedEvent]:
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [recorded_event(row, row[-1]) for row in rows]

    # --- appending ------------------------------------------------------------------

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: int
    ) -> AppendResult:
        """Append events to one stream atomically (see `append_many`)."""
        appends = [
            StreamAppend(
                stream=stream, events=events, expected_version=expected_version
            )
        ]
        return self.append_many(appends)[0]

    def append_many(
        self,
        appends: Sequence[StreamAppend],
        work: Sequence[WorkItem] = (),
        completed: Sequence[Lease] = (),
    ) -> list[AppendResult]:
        """Append to many streams, enqueue work and complete leases in one transaction.

        Raises:
            ConcurrencyConflictError: a stream is not at its `expected_version`.
            DuplicateEventError: an idempotency key is recorded already.
            StaleLeaseError: a completed lease is no longer held.
        """
        for attempt in range(RACE_RETRIES):
            try:
                with self.transaction() as conn:
                    return self._append(conn, appends, work, completed, attempt > 0)
            except WriteRaceError:
                # Lost a race (or a deadlock) to another writer. The next attempt
                # reads the heads again (and queues behind other ANY_VERSION writers
                # of the same streams): an explicit expected_version that moved fails
                # its check there; ANY_VERSION appends go on at the new end.
                backoff = min(0.05, 0.0005 * 2**attempt)
                time.sleep(random.uniform(0, backoff))  # noqa: S311
        raise ConcurrencyConflictError(
            f"gave up appending after {RACE_RETRIES} races with other writers"
        )

    def append_many_in(
        self,
        conn: sa.Connection,
        appends: Sequence[StreamAppend],
        work: Sequence[WorkItem] = (),
        completed: Sequence[Lease] = (),
    ) -> list[AppendResult]:
        """`append_many` inside the caller's transaction (from `transaction()`).

        On an error the transaction is unusable: let it roll back.
        """
        return self._append(conn, appends, work, completed, queue=False)

    def _append(
        self,
        conn: sa.Connection,
        appends: Sequence[StreamAppend],
        work: Sequence[WorkItem],
        completed: Sequence[Lease],
        queue: bool,
    ) -> list[AppendResult]:
        workqueue.complete(conn, completed)
        results: list[AppendResult] = []
        if appends:
            first, heads = self._dialect.heads(conn, appends, queue)
            rows, results = plan_appends(appends, heads, first)
            self._dialect.check_batch_size(len(rows))
            if rows:
                self._dialect.insert_events(conn, rows)
        workqueue.enqueue(conn, self._dialect, work)
        return results

    # --- reading --------------------------------------------------------------------

    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        """A stream's events from `from_version` on, in version order."""
        where = (_e.stream == stream) & (_e.version >= from_version)
        return self._fetch(_READ.where(where).order_by(_e.version))

    def read_all(
        self, after_position: int = 0, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The log after `after_position` in position order, gap-free (see dialects)."""
        where = (_e.position > after_position) & self._dialect.readable()
        return self._fetch(_READ.where(where).order_by(_e.position).limit(limit))

    def head_position(self) -> int:
        """The highest position a gap-free reader may read up to now (0: none)."""
        query = sa.select(sa.func.coalesce(sa.func.max(_e.position), 0))
        with self._reading() as conn:
            return int(conn.execute(query.where(self._dialect.readable())).scalar_one())

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 if it has no events)."""
        query = sa.select(sa.func.coalesce(sa.func.max(_e.version), 0))
        with self._reading() as conn:
            return int(conn.execute(query.where(_e.stream == stream)).scalar_one())

    def known_idempotency_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are recorded already."""
        found: set[str] = set()
        unique = sorted(set(keys))
        with self._reading() as conn:
            for start in range(0, len(unique), _KEYS_PER_QUERY):
                chunk = unique[start : start + _KEYS_PER_QUERY]
                query = sa.select(_e.idempotency_key).where(
                    _e.idempotency_key.in_(chunk)
                )
                found.update(conn.execute(query).scalars())
        return found

    def streams(self, prefix: str) -> list[str]:
        """Names of the streams that start with `prefix`, sorted."""
        # A byte range on the (stream, version) index, not LIKE: SQLite's LIKE ignores
        # case, and `_`/`%` would need escaping. Names sort by code point on both
        # engines (C collation). Every stream has exactly one version 1.
        where = _e.version == 1
        if prefix:
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            where = where & (_e.stream >= prefix) & (_e.stream < upper)
        with self._reading() as conn:
            return list(
                conn.execute(
                    sa.select(_e.stream).where(where).order_by(_e.stream)
                ).scalars()
            )

    def verify(self) -> VerifyReport:
        """Walk every stream's hash chain and report the first altered event."""
        checker = ChainChecker()
        query = sa.select(events).order_by(_e.stream, _e.version)
        # PostgreSQL streams through a server-side cursor, which needs a transaction.
        engine = self.engine if self._dialect.postgres else self._reader
        with translate_errors(self._url), engine.connect() as conn:
            for row in conn.execution_options(yield_per=2000).execute(query):
                checker.check(row)
        return checker.report()

    # --- the work queue -------------------------------------------------------------

    def claim(
        self, worker: str, limit: int, lease_for: timedelta, now: datetime
    ) -> list[Lease]:
        """Claim up to `limit` due items (unleased, or whose lease expired), FIFO."""
        if limit <= 0:
            return []
        with self.transaction() as conn:
            return workqueue.claim(
                conn, self._dialect, worker, limit, now + lease_for, now
            )

    def extend(self, lease: Lease, lease_for: timedelta, now: datetime) -> Lease:
        """Keep a lease alive until `now + lease_for`; `StaleLeaseError` if lost."""
        with self.transaction() as conn:
            return workqueue.extend(conn, lease, now + lease_for)

    def release(self, lease: Lease) -> None:
        """Give a claimed item back to the queue; `StaleLeaseError` if it was lost."""
        with self.transaction() as conn:
            workqueue.release(conn, lease)

    # --- task logs ------------------------------------------------------------------

    def append_logs(self, lines: Sequence[LogLine]) -> None:
        """Store task-run log lines (secrets already masked)."""
        if lines:
            rows = [{f: getattr(line, f) for f in _LOG_COLUMNS} for line in lines]
            with self.transaction() as conn:
                conn.execute(task_logs.insert(), rows)

    def read_logs(self, execution_id: str, after_id: int = 0) -> list[LogLine]:
        """An execution's log lines after `after_id`, oldest first."""
        c = task_logs.c
        where = (c.execution_id == execution_id) & (c.id > after_id)
        with self._reading() as conn:
            rows = conn.execute(sa.select(task_logs).where(where).order_by(c.id)).all()
        return [LogLine(**row._mapping) for row in rows]

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()
