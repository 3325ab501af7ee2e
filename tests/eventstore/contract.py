"""The contract every EventLog meets, run against each backend (as eventsourcing does).

A backend's test module subclasses `EventLogContract` and provides a `log` fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluice.core.errors import ConcurrencyConflictError, DuplicateEventError
from sluice.core.events import NewEvent, TaskRunStarted
from sluice.core.ports import ANY_VERSION, LogLine
from tests.eventstore.builders import started, to, versions, wait_readable
from tests.eventstore.contract_concurrency import ConcurrencyContract
from tests.eventstore.contract_queue import T0, WorkQueueContract


class EventLogContract(WorkQueueContract, ConcurrencyContract):
    """Appending, reading, conflicts, idempotency, atomicity, verification, logs."""

    @pytest.fixture
    def log(self):
        raise NotImplementedError("each backend's test class provides `log`")

    # --- append and read -----------------------------------------------------------

    def test_append_returns_new_version_and_increasing_positions(self, log):
        first = log.append("execution/a", [started(), started("t2")], 0)
        second = log.append("execution/a", [started("t3")], 2)
        assert (first.version, second.version) == (2, 3)
        positions = first.positions + second.positions
        assert positions == sorted(positions)
        assert len(set(positions)) == 3

    def test_read_stream_returns_events_with_their_envelope(self, log):
        new = NewEvent(
            event=TaskRunStarted(task_run_id="t1", attempt=2, worker="w9"),
            actor="worker:w9",
            causation_id="cause-1",
            correlation_id="corr-1",
            idempotency_key="exec-1:t1:2",
        )
        result = log.append("execution/1", [new], 0)
        [recorded] = log.read_stream("execution/1")
        assert recorded.event == new.event
        assert recorded.type == "TaskRunStarted"
        assert (recorded.position, recorded.stream, recorded.version) == (
            result.positions[0], "execution/1", 1,
        )  # fmt: skip
        assert (recorded.actor, recorded.causation_id, recorded.correlation_id) == (
            "worker:w9", "cause-1", "corr-1",
        )  # fmt: skip
        assert recorded.idempotency_key == "exec-1:t1:2"
        assert recorded.recorded_at.utcoffset() is not None
        assert recorded.recorded_at.utcoffset().total_seconds() == 0
        assert abs((datetime.now(UTC) - recorded.recorded_at).total_seconds()) < 60
        assert recorded.prev_hash is None
        assert len(recorded.hash) == 64

    def test_read_stream_from_version_skips_earlier_events(self, log):
        log.append("execution/a", [started("t1"), started("t2"), started("t3")], 0)
        tail = log.read_stream("execution/a", from_version=2)
        assert [e.event.task_run_id for e in tail] == ["t2", "t3"]

    def test_read_stream_is_empty_when_stream_has_no_events(self, log):
        assert log.read_stream("execution/none") == []
        assert log.stream_version("execution/none") == 0

    def test_read_all_returns_every_stream_in_position_order(self, log):
        a = log.append("execution/a", [started("a1")], 0)
        b = log.append("execution/b", [started("b1"), started("b2")], 0)
        c = log.append("execution/a", [started("a2")], 1)
        wait_readable(log, c.positions[-1])
        everything = log.read_all()
        assert [
            e.position for e in everything
        ] == a.positions + b.positions + c.positions
        assert [e.event.task_run_id for e in everything] == ["a1", "b1", "b2", "a2"]

    def test_read_all_pages_with_after_position_and_limit(self, log):
        result = log.append("execution/a", [started(f"t{i}") for i in range(5)], 0)
        wait_readable(log, result.positions[-1])
        first = log.read_all(0, limit=2)
        rest = log.read_all(first[-1].position, limit=10)
        assert [e.position for e in first + rest] == result.positions
        assert log.read_all(result.positions[-1]) == []

    def test_head_position_is_zero_when_log_is_empty(self, log):
        assert log.head_position() == 0
        assert log.read_all() == []

    def test_head_position_reaches_the_last_appended_position(self, log):
        result = log.append("execution/a", [started(), started()], 0)
        wait_readable(log, result.positions[-1])
        assert log.head_position() == result.positions[-1]

    def test_stream_version_counts_the_streams_events(self, log):
        log.append("execution/a", [started(), started()], 0)
        log.append("execution/b", [started()], 0)
        assert log.stream_version("execution/a") == 2

    def test_streams_lists_names_starting_with_prefix(self, log):
        for name in ["flow/ns/b", "flow/ns/a", "flow/nt/x", "execution/1", "Flow/ns/z"]:
            log.append(name, [started()], 0)
        log.append("flow/ns/a", [started()], 1)
        assert log.streams("flow/ns/") == ["flow/ns/a", "flow/ns/b"]
        assert log.streams("flow/") == ["flow/ns/a", "flow/ns/b", "flow/nt/x"]
        assert len(log.streams("")) == 5

    def test_streams_treats_like_wildcards_literally(self, log):
        log.append("trigger/a_b/x", [started()], 0)
        log.append("trigger/axb/x", [started()], 0)
        log.append("trigger/a%/x", [started()], 0)
        assert log.streams("trigger/a_") == ["trigger/a_b/x"]
        assert log.streams("trigger/a%") == ["trigger/a%/x"]

    # --- optimistic concurrency ----------------------------------------------------

    def test_append_raises_conflict_when_stream_version_is_stale(self, log):
        log.append("execution/a", [started()], 0)
        log.append("execution/a", [started()], 1)
        with pytest.raises(ConcurrencyConflictError, match="execution/a"):
            log.append("execution/a", [started("late")], 1)
        assert versions(log, "execution/a") == [1, 2]

    def test_append_raises_conflict_when_new_stream_is_expected_to_exist(self, log):
        with pytest.raises(ConcurrencyConflictError):
            log.append("execution/new", [started()], 3)
        assert log.read_stream("execution/new") == []

    def test_append_any_version_appends_at_the_end(self, log):
        log.append("execution/a", [started()], 0)
        result = log.append("execution/a", [started()], ANY_VERSION)
        assert result.version == 2
        assert versions(log, "execution/a") == [1, 2]

    def test_append_many_writes_nothing_when_one_stream_conflicts(self, log):
        log.append("execution/b", [started()], 0)
        with pytest.raises(ConcurrencyConflictError):
            log.append_many([
                to("execution/a", [started()], 0),
                to("execution/b", [started()], 0),
            ])  # fmt: skip
        assert log.read_stream("execution/a") == []
        assert versions(log, "execution/b") == [1]

    # --- batches -------------------------------------------------------------------

    def test_append_many_appends_to_every_stream_in_one_call(self, log):
        results = log.append_many([
            to("execution/a", [started(), started()]),
            to("trigger/ns/f/t", [started()], 0),
        ])  # fmt: skip
        assert [(r.stream, r.version) for r in results] == [
            ("execution/a", 2), ("trigger/ns/f/t", 1),
        ]  # fmt: skip
        assert versions(log, "execution/a") == [1, 2]
        assert versions(log, "trigger/ns/f/t") == [1]

    def test_append_many_chains_two_appends_to_the_same_stream(self, log):
        results = log.append_many([
            to("execution/a", [started("t1")], 0),
            to("execution/a", [started("t2")], 1),
        ])  # fmt: skip
        assert [r.version for r in results] == [1, 2]
        assert log.verify().ok

    def test_append_with_no_events_writes_nothing(self, log):
        result = log.append("execution/a", [], 0)
        assert (result.version, result.positions) == (0, [])
        assert log.read_stream("execution/a") == []

    # --- idempotency ---------------------------------------------------------------

    def test_append_raises_duplicate_when_idempotency_key_is_recorded(self, log):
        fired = started(key="s3://bucket/a.csv@etag1")
        log.append("trigger/ns/f/s3", [fired], 0)
        with pytest.raises(DuplicateEventError, match=r"a\.csv@etag1"):
            log.append_many(
                [to("execution/new", [started()]), to("trigger/ns/f/s3", [fired])]
            )
        assert log.read_stream("execution/new") == []
        assert versions(log, "trigger/ns/f/s3") == [1]

    def test_large_batch_raises_duplicate_and_writes_nothing_when_a_key_is_known(
        self, log
    ):
        log.append("execution/a", [started(key="done")], 0)
        batch = [to(f"execution/{i}", [started(), started()]) for i in range(10)]
        batch.append(to("execution/a", [started(key="done")]))
        with pytest.raises(DuplicateEventError, match="done"):
            log.append_many(batch)
        assert log.streams("execution/") == ["execution/a"]

    def test_append_raises_duplicate_when_key_repeats_within_one_call(self, log):
        with pytest.raises(DuplicateEventError):
            log.append("execution/a", [started(key="k"), started(key="k")], 0)
        assert log.read_stream("execution/a") == []

    def test_events_without_idempotency_key_never_collide(self, log):
        log.append("execution/a", [started(), started()], 0)
        log.append("execution/b", [started()], 0)
        assert versions(log, "execution/a") == [1, 2]

    def test_known_idempotency_keys_returns_only_recorded_keys(self, log):
        log.append("execution/a", [started(key="k1"), started(key="k2")], 0)
        assert log.known_idempotency_keys(["k2", "k3", "k1"]) == {"k1", "k2"}
        assert log.known_idempotency_keys([]) == set()

    # --- hash chain and task logs --------------------------------------------------

    def test_verify_reports_ok_when_nothing_was_altered(self, log):
        log.append("execution/a", [started(), started()], 0)
        log.append("execution/b", [started()], 0)
        report = log.verify()
        assert (report.ok, report.checked, report.first_bad_position) == (True, 3, None)

    def test_events_link_to_the_hash_of_the_event_before(self, log):
        log.append("execution/a", [started(), started(), started()], 0)
        chain = log.read_stream("execution/a")
        assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]

    def test_read_logs_returns_an_executions_lines_after_an_id(self, log):
        def line(execution: str, message: str) -> LogLine:
            return LogLine(
                execution_id=execution, task_run_id="t1", attempt=1, level=20,
                message=message, at=T0,
            )  # fmt: skip

        log.append_logs([line("e1", "one"), line("e2", "other"), line("e1", "two")])
        lines = log.read_logs("e1")
        assert [x.message for x in lines] == ["one", "two"]
        assert lines[0].at == T0
        assert lines[0].task_run_id == "t1"
        assert [x.message for x in log.read_logs("e1", after_id=lines[0].id)] == ["two"]
