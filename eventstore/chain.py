"""The per-stream hash chain: building chained rows for an append, and checking them.

Every backend (SQL and in-memory) plans its appends and verifies its log through this
module, so they chain and check events identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sluice.core.errors import ConcurrencyConflictError
from sluice.core.ports import ANY_VERSION, AppendResult, StreamAppend, VerifyReport
from sluice.eventstore.codec import StoredRow, chain_hash, encode_event, row_hash


class EventRow(NamedTuple):
    """An `events` row to insert, in column order (`recorded_at` is the database's)."""

    position: int
    stream: str
    version: int
    type: str
    schema_version: int
    data: str
    actor: str
    causation_id: str | None
    correlation_id: str | None
    idempotency_key: str | None
    prev_hash: str | None
    hash: str


EVENT_COLUMNS = EventRow._fields


class Head(NamedTuple):
    """Where a stream ends: its version and the hash of its last event."""

    version: int
    hash: str | None


NEW_STREAM = Head(0, None)


def plan_appends(
    appends: Sequence[StreamAppend], heads: dict[str, Head], first_position: int
) -> tuple[list[EventRow], list[AppendResult]]:
    """The chained rows for `appends`, numbered from `first_position`, and the results.

    `heads` holds each stream's current end and is moved along, so one call may append
    to the same stream twice.

    Raises:
        ConcurrencyConflictError: a stream is not at its `expected_version`.
    """
    rows: list[EventRow] = []
    results: list[AppendResult] = []
    position = first_position
    for append in appends:
        version, prev = heads.get(append.stream, NEW_STREAM)
        expected = append.expected_version
        if expected not in (ANY_VERSION, version):
            raise ConcurrencyConflictError(
                f"stream {append.stream!r} is at version {version}, not {expected}"
            )
        positions: list[int] = []
        for new in append.events:
            version += 1
            type_name, schema_version, data = encode_event(new.event)
            digest = chain_hash(
                prev, append.stream, version, type_name, schema_version, data,
                new.actor, new.causation_id, new.correlation_id, new.idempotency_key,
            )  # fmt: skip
            rows.append(EventRow(
                position, append.stream, version, type_name, schema_version, data,
                new.actor, new.causation_id, new.correlation_id, new.idempotency_key,
                prev, digest,
            ))  # fmt: skip
            prev = digest
            positions.append(position)
            position += 1
        heads[append.stream] = Head(version, prev)
        results.append(
            AppendResult(stream=append.stream, version=version, positions=positions)
        )
    return rows, results


class ChainChecker:
    """Checks rows fed in (stream, version) order; remembers the earliest bad one."""

    def __init__(self) -> None:
        self.checked = 0
        self._stream: str | None = None
        self._stream_bad = False
        self._last = NEW_STREAM
        self._bad: tuple[int, str, int, str] | None = None

    def check(self, row: StoredRow) -> None:
        """Check one row against its content and against the row before it."""
        self.checked += 1
        if row.stream != self._stream:
            self._stream, self._stream_bad, self._last = row.stream, False, NEW_STREAM
        reason = self._problem(row)
        self._last = Head(row.version, row.hash)
        if reason is None or self._stream_bad:
            return
        self._stream_bad = True  # the rest of a broken stream adds nothing new
        if self._bad is None or row.position < self._bad[0]:
            self._bad = (row.position, row.stream, row.version, reason)

    def _problem(self, row: StoredRow) -> str | None:
        if row.version != self._last.version + 1:
            return f"version {row.version} follows version {self._last.version}"
        if row.prev_hash != self._last.hash:
            return "prev_hash does not match the hash of the event before it"
        if row.hash != row_hash(row):
            return "hash does not match the event's content"
        return None

    def report(self) -> VerifyReport:
        """Ok, or the altered event with the lowest position and what is wrong."""
        if self._bad is None:
            return VerifyReport(ok=True, checked=self.checked)
        position, stream, version, reason = self._bad
        return VerifyReport(
            ok=False, checked=self.checked, first_bad_position=position,
            first_bad_stream=stream, first_bad_version=version, reason=reason,
        )  # fmt: skip
