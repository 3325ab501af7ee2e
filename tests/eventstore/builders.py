"""Small builders the event-store tests share: events, appends, reading back."""

from __future__ import annotations

import time

from sluice.core.events import NewEvent, TaskRunStarted
from sluice.core.ports import ANY_VERSION, StreamAppend


def started(task: str = "t1", *, key: str | None = None, actor: str = "worker:w1"):
    """A small real event, optionally with an idempotency key."""
    return NewEvent(
        event=TaskRunStarted(task_run_id=task, attempt=1, worker="w1"),
        actor=actor,
        idempotency_key=key,
    )


def to(stream: str, events, expected: int = ANY_VERSION) -> StreamAppend:
    return StreamAppend(stream=stream, events=events, expected_version=expected)


def wait_readable(log, position: int, timeout: float = 10.0) -> None:
    """Wait until a gap-free reader may read up to `position`.

    On PostgreSQL the horizon is the oldest transaction still writing anywhere in the
    cluster, so a row is readable shortly after its commit, not always at once.
    """
    deadline = time.monotonic() + timeout
    while log.head_position() < position:
        assert time.monotonic() < deadline, f"position {position} never became readable"
        time.sleep(0.01)


def versions(log, stream: str) -> list[int]:
    return [e.version for e in log.read_stream(stream)]
