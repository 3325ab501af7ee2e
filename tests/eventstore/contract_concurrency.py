"""The concurrency half of the event-log contract: interleaved and threaded writers."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.core.errors import ConcurrencyConflictError
from sluice.core.ports import ANY_VERSION
from tests.eventstore.builders import started, versions


def run_threads(target, count: int) -> None:
    """Run `target(n)` in `count` threads at once; re-raise the first error."""
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            target(n)
        except BaseException as err:  # noqa: BLE001  (re-raised below, in the test)
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def tail_while_threads_append(log, writers: int = 4, each: int = 25) -> None:
    """A reader tailing `read_all` while threads append sees each event once."""
    expected = writers * each
    seen: list[int] = []

    def tail() -> None:
        position, deadline = 0, time.monotonic() + 20
        while len(seen) < expected and time.monotonic() < deadline:
            batch = log.read_all(position, limit=30)
            seen.extend(e.position for e in batch)
            position = batch[-1].position if batch else position
            if not batch:
                # Caught up: pause as every real tailer does. A reader spinning in
                # Python starves the writer threads of the GIL (not of the database).
                time.sleep(0.001)

    def write(n: int) -> None:
        for i in range(each):
            log.append(f"execution/{n}", [started()], i)

    reader = threading.Thread(target=tail)
    reader.start()
    run_threads(write, writers)
    reader.join()
    assert len(seen) == expected
    assert seen == sorted(set(seen))


class ConcurrencyContract:
    """Writers that interleave or run at once leave contiguous, valid chains."""

    @settings(
        max_examples=25,
        deadline=None,
        # One `log` serves every example (streams are fresh per example), and each
        # backend's subclass runs this same method: both are intended.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        steps=st.lists(
            st.tuples(
                st.integers(0, 2),  # writer
                st.sampled_from(["read", "expected", "any"]),
                st.integers(0, 2),  # stream
                st.integers(1, 3),  # events
            ),
            max_size=25,
        )
    )
    def test_interleaved_writers_leave_streams_contiguous_and_chained(self, log, steps):
        prefix = f"execution/{uuid.uuid4().hex[:8]}/"
        seen: dict[tuple[int, int], int] = {}  # (writer, stream) -> version it read
        written = [0, 0, 0]
        for writer, action, stream_index, count in steps:
            stream = f"{prefix}{stream_index}"
            if action == "read":
                seen[writer, stream_index] = log.stream_version(stream)
                continue
            new = [started(f"t{writer}") for _ in range(count)]
            expected = seen.get((writer, stream_index), 0)
            if action == "any":
                log.append(stream, new, ANY_VERSION)
            elif expected != written[stream_index]:
                with pytest.raises(ConcurrencyConflictError):
                    log.append(stream, new, expected)
                continue
            else:
                log.append(stream, new, expected)
            written[stream_index] += count
        for index, count in enumerate(written):
            assert versions(log, f"{prefix}{index}") == list(range(1, count + 1))
        assert log.verify().ok

    def test_threads_appending_at_the_end_leave_streams_contiguous(self, log):
        def writer(n: int) -> None:
            for i in range(10):
                log.append(f"execution/{i % 2}", [started(f"w{n}")], ANY_VERSION)

        run_threads(writer, 4)
        assert versions(log, "execution/0") == list(range(1, 21))
        assert versions(log, "execution/1") == list(range(1, 21))
        assert log.verify().ok

    def test_tailing_reader_sees_every_event_once_while_threads_append(self, log):
        tail_while_threads_append(log)
