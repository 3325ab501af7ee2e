"""The raw log as people read it: one execution's events, and the log as it grows."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from datetime import datetime

import msgspec

from sluice.core.errors import ExecutionNotFoundError
from sluice.core.events import JsonValue, RecordedEvent
from sluice.core.ports import EventLog


class EventRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored event, flattened for printing (`sluice events tail --json`)."""

    position: int
    stream: str
    version: int
    type: str
    actor: str
    recorded_at: datetime
    data: dict[str, JsonValue]
    causation_id: str | None = None
    correlation_id: str | None = None


def record_of(recorded: RecordedEvent) -> EventRecord:
    """The printable form of a stored event (its payload without the type tag)."""
    data = msgspec.to_builtins(recorded.event)
    data.pop("type", None)
    return EventRecord(
        position=recorded.position,
        stream=recorded.stream,
        version=recorded.version,
        type=recorded.type,
        actor=recorded.actor,
        recorded_at=recorded.recorded_at,
        data=data,
        causation_id=recorded.causation_id,
        correlation_id=recorded.correlation_id,
    )


def execution_events(log: EventLog, execution_id: str) -> list[RecordedEvent]:
    """An execution's events in order; `ExecutionNotFoundError` if it has none."""
    events = log.read_stream(f"execution/{execution_id}")
    if not events:
        raise ExecutionNotFoundError(f"no execution {execution_id!r}")
    return events


def tail(
    log: EventLog,
    after: int,
    types: Collection[str] = (),
    stream_prefix: str | None = None,
    follow: bool = False,
    interval: float = 0.2,
    batch: int = 500,
) -> Iterator[RecordedEvent]:
    """Events after position `after` that match; with `follow`, wait for more forever.

    Args:
        log: the event log.
        after: the position to read after (0: the whole log).
        types: only these event types (all when empty).
        stream_prefix: only streams starting with this (`execution/`, `trigger/prod/`).
        follow: keep polling every `interval` seconds once the head is reached.
        interval: seconds between polls when following.
        batch: events read per call.
    """
    wanted = set(types)
    while True:
        events = log.read_all(after_position=after, limit=batch)
        for recorded in events:
            after = recorded.position
            if wanted and recorded.type not in wanted:
                continue
            if stream_prefix and not recorded.stream.startswith(stream_prefix):
                continue
            yield recorded
        if len(events) < batch:
            if not follow:
                return
            time.sleep(interval)


def start_for_last(log: EventLog, count: int) -> int:
    """The position to tail after to see about the last `count` events."""
    return max(log.head_position() - count, 0)
