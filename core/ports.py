"""The ports core defines and the outer packages fill (eventstore/, storage/, plugins/).

Everything here is a Protocol or a plain value type: core depends on these shapes, never
on SQLAlchemy, boto3 or the file system.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import msgspec

from sluice.core.events import JsonValue, NewEvent, RecordedEvent

ANY_VERSION: int = -1
"""`expected_version` that skips the concurrency check (append at the stream's end)."""


class StreamAppend(msgspec.Struct, frozen=True, kw_only=True):
    """Events for one stream, appended only if the stream is at `expected_version`.

    `expected_version` is the stream's current version (0 for a new stream), or
    `ANY_VERSION` to append at the end whatever it is.
    """

    stream: str
    events: Sequence[NewEvent]
    expected_version: int = ANY_VERSION


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an append wrote: the stream's new version and the positions of its events."""

    stream: str
    version: int
    positions: list[int]


class WorkItem(msgspec.Struct, frozen=True, kw_only=True):
    """A task-run attempt to run, put on the queue in the transaction that decided it.

    `key` is unique (``<execution_id>:<task_run_id>:<attempt>``): enqueuing the same key
    twice keeps one item.
    """

    key: str
    execution_id: str
    task_run_id: str
    attempt: int
    available_at: datetime | None = None
    payload: dict[str, JsonValue] = {}


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    """A claimed work item: only the holder of `token` may complete it, until `expires`."""

    item: WorkItem
    worker: str
    token: str
    expires: datetime


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    """Result of walking the hash chains: ok, or the first altered event."""

    ok: bool
    checked: int
    first_bad_position: int | None = None
    first_bad_stream: str | None = None
    first_bad_version: int | None = None
    reason: str = ""


class EventLog(Protocol):
    """The append-only log of every fact, with its work queue in the same database.

    Appends are atomic across all streams and work items given in one call: either all
    is written, or nothing (a stale version raises `ConcurrencyConflictError`; a repeated
    idempotency key raises `DuplicateEventError`).
    """

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: int
    ) -> AppendResult:
        """Append events to one stream atomically."""
        ...

    def append_many(
        self,
        appends: Sequence[StreamAppend],
        work: Sequence[WorkItem] = (),
        completed: Sequence[Lease] = (),
    ) -> list[AppendResult]:
        """Append to many streams, enqueue work and complete leases, in one transaction.

        Completing a lease whose token is no longer current raises `StaleLeaseError` and
        writes nothing.
        """
        ...

    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        """A stream's events from `from_version` on, in version order."""
        ...

    def read_all(
        self, after_position: int = 0, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The log after `after_position`, in position order, never skipping a row that
        commits late (gap-safe on PostgreSQL)."""
        ...

    def head_position(self) -> int:
        """The highest position a gap-safe reader may read up to now."""
        ...

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 if it has no events)."""
        ...

    def known_idempotency_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are recorded already."""
        ...

    def streams(self, prefix: str) -> list[str]:
        """Names of the streams that start with `prefix`."""
        ...

    def claim(
        self, worker: str, limit: int, lease_for: timedelta, now: datetime
    ) -> list[Lease]:
        """Claim up to `limit` available work items (or ones whose lease expired)."""
        ...

    def extend(self, lease: Lease, lease_for: timedelta, now: datetime) -> Lease:
        """Keep a lease alive; `StaleLeaseError` if it was lost."""
        ...

    def release(self, lease: Lease) -> None:
        """Give a claimed item back to the queue without completing it (shutdown)."""
        ...

    def verify(self) -> VerifyReport:
        """Walk every stream's hash chain and report the first altered event."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LogLine(msgspec.Struct, frozen=True, kw_only=True):
    """One log line of a task run (kept beside the event log, not in execution state)."""

    execution_id: str
    task_run_id: str | None
    attempt: int
    level: int
    message: str
    at: datetime
    id: int = 0


class LogStore(Protocol):
    """Task-run log lines, stored beside the events (same database, own table)."""

    def append_logs(self, lines: Sequence[LogLine]) -> None:
        """Store log lines (secrets already masked)."""
        ...

    def read_logs(self, execution_id: str, after_id: int = 0) -> list[LogLine]:
        """An execution's log lines after `after_id`, oldest first."""
        ...


class Clock(Protocol):
    """Where time comes from; core never calls `datetime.now()` itself."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class Storage(Protocol):
    """Internal storage: files addressed by ``storage://<namespace>/<flow>/<exec>/…``."""

    def put_bytes(self, path: str, data: bytes) -> str:
        """Store `data` under `path` (relative, '/'-separated); return its URI."""
        ...

    def put_file(self, path: str, source: str) -> str:
        """Copy a local file into storage under `path`; return its URI."""
        ...

    def get_bytes(self, uri: str) -> bytes:
        """Read a stored file; `StorageError` if it is missing."""
        ...

    def get_to_file(self, uri: str, dest: str) -> None:
        """Copy a stored file to a local path."""
        ...

    def size(self, uri: str) -> int:
        """Size in bytes of a stored file."""
        ...

    def exists(self, uri: str) -> bool:
        """Whether a stored file exists."""
        ...


class SecretProvider(Protocol):
    """Where `secret('NAME')` values come from (environment, AWS Secrets Manager)."""

    def get(self, name: str) -> str | None:
        """The secret's value, or None if this provider has no such secret."""
        ...
