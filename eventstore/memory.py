"""The reference event log in memory: the same contract as the SQL log, for tests.

It stores encoded rows exactly as the SQL log does (msgspec JSON, schema version, hash
chain) and decodes on read, so upcasters and decode errors behave the same. One lock
guards everything: every call is atomic, as a transaction is in the database.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec

from sluice.core.errors import DuplicateEventError, StaleLeaseError
from sluice.core.events import NewEvent, RecordedEvent
from sluice.core.ports import (
    AppendResult,
    Clock,
    Lease,
    LogLine,
    StreamAppend,
    VerifyReport,
    WorkItem,
)
from sluice.eventstore.chain import ChainChecker, EventRow, Head, plan_appends
from sluice.eventstore.codec import recorded_event

_Stored = tuple[EventRow, datetime]
"""A row and when it was recorded."""


@dataclass
class _Slot:
    """A queued work item and who holds it."""

    item: WorkItem
    worker: str | None = None
    token: str | None = None
    expires: datetime | None = None


class InMemoryEventLog:
    """`EventLog` and `LogStore` in memory; thread-safe; positions are 1, 2, 3…"""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._rows: list[_Stored] = []
        self._streams: dict[str, list[_Stored]] = {}
        self._keys: set[str] = set()
        self._work: dict[str, _Slot] = {}
        self._logs: list[LogLine] = []

    def _now(self) -> datetime:
        return self._clock.now() if self._clock else datetime.now(UTC)

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: int
    ) -> AppendResult:
        """Append events to one stream atomically (see `append_many`)."""
        append = StreamAppend(
            stream=stream, events=events, expected_version=expected_version
        )
        return self.append_many([append])[0]

    def append_many(
        self,
        appends: Sequence[StreamAppend],
        work: Sequence[WorkItem] = (),
        completed: Sequence[Lease] = (),
    ) -> list[AppendResult]:
        """Append to many streams, enqueue work and complete leases, all or nothing."""
        with self._lock:
            for lease in completed:
                self._held(lease)
            heads = {
                a.stream: Head(last.version, last.hash)
                for a in appends
                if (last := self._last(a.stream)) is not None
            }
            rows, results = plan_appends(appends, heads, len(self._rows) + 1)
            keys = Counter(r.idempotency_key for r in rows if r.idempotency_key)
            repeated = {k for k, n in keys.items() if n > 1 or k in self._keys}
            if repeated:
                raise DuplicateEventError(
                    f"an event with idempotency key {sorted(repeated)} is recorded "
                    "already; nothing was written"
                )
            recorded_at = self._now()
            for row in rows:
                self._rows.append((row, recorded_at))
                self._streams.setdefault(row.stream, []).append((row, recorded_at))
            self._keys.update(keys)
            for lease in completed:
                del self._work[lease.item.key]
            for item in work:
                if item.key not in self._work:
                    self._work[item.key] = _Slot(item)
            return results

    def _last(self, stream: str) -> EventRow | None:
        rows = self._streams.get(stream)
        return rows[-1][0] if rows else None

    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        """A stream's events from `from_version` on, in version order."""
        with self._lock:
            rows = self._streams.get(stream, [])[max(from_version, 1) - 1 :]
        return [recorded_event(row, at) for row, at in rows]

    def read_all(
        self, after_position: int = 0, limit: int = 1000
    ) -> list[RecordedEvent]:
        """The log after `after_position`, in position order."""
        start = max(after_position, 0)
        with self._lock:
            rows = self._rows[start : start + max(limit, 0)]
        return [recorded_event(row, at) for row, at in rows]

    def head_position(self) -> int:
        """The last position (every append is visible at once)."""
        with self._lock:
            return len(self._rows)

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 if it has no events)."""
        with self._lock:
            return len(self._streams.get(stream, []))

    def known_idempotency_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are recorded already."""
        with self._lock:
            return set(keys) & self._keys

    def streams(self, prefix: str) -> list[str]:
        """Names of the streams that start with `prefix`, sorted."""
        with self._lock:
            return sorted(name for name in self._streams if name.startswith(prefix))

    def verify(self) -> VerifyReport:
        """Walk every stream's hash chain and report the first altered event."""
        checker = ChainChecker()
        with self._lock:
            for name in sorted(self._streams):
                for row, _ in self._streams[name]:
                    checker.check(row)
        return checker.report()

    def claim(
        self, worker: str, limit: int, lease_for: timedelta, now: datetime
    ) -> list[Lease]:
        """Claim up to `limit` due items (unleased, or whose lease expired), FIFO."""
        leases: list[Lease] = []
        with self._lock:
            for slot in self._work.values():  # enqueue order: dicts keep it
                if len(leases) >= limit:
                    break
                due = slot.item.available_at is None or slot.item.available_at <= now
                if due and (slot.expires is None or slot.expires <= now):
                    slot.worker, slot.token = worker, secrets.token_hex(16)
                    slot.expires = now + lease_for
                    leases.append(
                        Lease(item=slot.item, worker=worker, token=slot.token,
                              expires=slot.expires)
                    )  # fmt: skip
        return leases

    def extend(self, lease: Lease, lease_for: timedelta, now: datetime) -> Lease:
        """Keep a lease alive until `now + lease_for`; `StaleLeaseError` if lost."""
        with self._lock:
            slot = self._held(lease)
            slot.expires = now + lease_for
            return Lease(
                item=lease.item, worker=lease.worker, token=lease.token,
                expires=slot.expires,
            )  # fmt: skip

    def release(self, lease: Lease) -> None:
        """Give a claimed item back to the queue; `StaleLeaseError` if lost."""
        with self._lock:
            slot = self._held(lease)
            slot.worker = slot.token = slot.expires = None

    def _held(self, lease: Lease) -> _Slot:
        slot = self._work.get(lease.item.key)
        if slot is None or slot.token != lease.token:
            raise StaleLeaseError(f"the lease on {lease.item.key} is no longer held")
        return slot

    def append_logs(self, lines: Sequence[LogLine]) -> None:
        """Store task-run log lines, numbering them 1, 2, 3…"""
        with self._lock:
            for line in lines:
                self._logs.append(msgspec.structs.replace(line, id=len(self._logs) + 1))

    def read_logs(self, execution_id: str, after_id: int = 0) -> list[LogLine]:
        """An execution's log lines after `after_id`, oldest first."""
        with self._lock:
            return [
                line
                for line in self._logs[max(after_id, 0) :]
                if line.execution_id == execution_id
            ]

    def close(self) -> None:
        """Nothing to release."""
