"""The work-queue half of the event-log contract: enqueue, claim, lease, complete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sluice.core.errors import StaleLeaseError
from sluice.core.events import NewEvent, TaskRunSucceeded
from sluice.core.ports import StreamAppend, WorkItem

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def item(key: str, *, available_at: datetime | None = None, payload=None) -> WorkItem:
    execution, task, attempt = key.split(":")
    return WorkItem(
        key=key,
        execution_id=execution,
        task_run_id=task,
        attempt=int(attempt),
        available_at=available_at,
        payload=payload if payload is not None else {"task": task},
    )


def succeeded(task: str) -> StreamAppend:
    event = TaskRunSucceeded(task_run_id=task, attempt=1, outputs={"rows": 3})
    return StreamAppend(
        stream="execution/e1", events=[NewEvent(event=event, actor="w")]
    )


class WorkQueueContract:
    """Leases: FIFO claims of due items, expiry, stale tokens, atomic completion."""

    def test_claimed_item_carries_what_was_enqueued(self, log):
        due = T0 - timedelta(minutes=1)
        log.append_many(
            [], work=[item("e1:t1:2", available_at=due, payload={"a": [1]})]
        )
        [lease] = log.claim("worker:1", 5, LEASE, T0)
        assert lease.item == item("e1:t1:2", available_at=due, payload={"a": [1]})
        assert (lease.worker, lease.expires) == ("worker:1", T0 + LEASE)
        assert len(lease.token) >= 16

    def test_claim_returns_nothing_when_queue_is_empty(self, log):
        assert log.claim("worker:1", 5, LEASE, T0) == []

    def test_enqueue_keeps_one_item_when_key_is_enqueued_twice(self, log):
        log.append_many([], work=[item("e1:t1:1")])
        log.append_many([], work=[item("e1:t1:1", payload={"second": True})])
        leases = log.claim("worker:1", 5, LEASE, T0)
        assert [lease.item.payload for lease in leases] == [{"task": "t1"}]

    def test_claim_returns_items_oldest_first_with_distinct_tokens(self, log):
        keys = ["e1:c:1", "e1:a:1", "e2:b:1"]
        for key in keys:
            log.append_many([], work=[item(key)])
        leases = log.claim("worker:1", 5, LEASE, T0)
        assert [lease.item.key for lease in leases] == keys
        assert len({lease.token for lease in leases}) == 3

    def test_claim_takes_at_most_limit_items(self, log):
        log.append_many([], work=[item(f"e1:t{i}:1") for i in range(5)])
        first = log.claim("worker:1", 2, LEASE, T0)
        second = log.claim("worker:2", 10, LEASE, T0)
        assert [x.item.key for x in first] == ["e1:t0:1", "e1:t1:1"]
        assert [x.item.key for x in second] == ["e1:t2:1", "e1:t3:1", "e1:t4:1"]

    def test_claim_skips_an_item_until_its_available_at(self, log):
        log.append_many(
            [], work=[item("e1:retry:2", available_at=T0 + timedelta(seconds=10))]
        )
        assert log.claim("worker:1", 5, LEASE, T0) == []
        [lease] = log.claim("worker:1", 5, LEASE, T0 + timedelta(seconds=10))
        assert lease.item.key == "e1:retry:2"

    def test_claim_skips_leased_items_until_the_lease_expires(self, log):
        log.append_many([], work=[item("e1:t1:1")])
        [first] = log.claim("worker:1", 5, LEASE, T0)
        assert log.claim("worker:2", 5, LEASE, T0 + LEASE - timedelta(seconds=1)) == []
        [second] = log.claim("worker:2", 5, LEASE, T0 + LEASE)
        assert second.worker == "worker:2"
        assert second.token != first.token

    def test_append_many_completes_a_lease_with_its_event_atomically(self, log):
        log.append_many([], work=[item("e1:t1:1")])
        [lease] = log.claim("worker:1", 5, LEASE, T0)
        log.append_many([succeeded("t1")], completed=[lease])
        assert [e.type for e in log.read_stream("execution/e1")] == ["TaskRunSucceeded"]
        assert log.claim("worker:2", 5, LEASE, T0 + 10 * LEASE) == []

    def test_append_many_writes_nothing_when_a_completed_lease_is_stale(self, log):
        log.append_many([], work=[item("e1:t1:1")])
        [zombie] = log.claim("worker:1", 5, LEASE, T0)
        [current] = log.claim("worker:2", 5, LEASE, T0 + 2 * LEASE)
        with pytest.raises(StaleLeaseError, match="e1:t1:1"):
            log.append_many([succeeded("t1")], [item("e1:next:1")], completed=[zombie])
        assert log.read_stream("execution/e1") == []
        log.append_many([succeeded("t1")], completed=[current])
        assert log.claim("worker:3", 5, LEASE, T0 + 10 * LEASE) == []

    def test_append_many_enqueues_work_with_the_events_that_decided_it(self, log):
        log.append_many([succeeded("t0")], work=[item("e1:t1:1"), item("e1:t2:1")])
        assert len(log.read_stream("execution/e1")) == 1
        assert [x.item.key for x in log.claim("w", 5, LEASE, T0)] == [
            "e1:t1:1",
            "e1:t2:1",
        ]

    def test_extend_keeps_a_lease_past_its_first_expiry(self, log):
        log.append_many([], work=[item("e1:t1:1")])
        [lease] = log.claim("worker:1", 5, LEASE, T0)
        extended = log.extend(lease, LEASE, T0 + timedelta(seconds=20))
        assert extended.expires == T0 + timedelta(seconds=50)
        assert extended.token == lease.token
        assert log.claim("worker:2", 5, LEASE, T0 + timedelta(seconds=40)) == []
        log.append_many([], completed=[extended])

    def test_extend_raises_stale_lease_when_item_was_claimed_again(self, log):
        log.append_many([], work=[item("e1:t1:1")])
        [lease] = log.claim("worker:1", 5, LEASE, T0)
        log.claim("worker:2", 5, LEASE, T0 + LEASE)
        with pytest.raises(StaleLeaseError):
            log.extend(lease, LEASE, T0 + LEASE)

    def test_release_puts_the_item_back_for_the_next_claim(self, log):
        log.append_many([], work=[item("e1:t1:1")])
        [lease] = log.claim("worker:1", 5, LEASE, T0)
        log.release(lease)
        [again] = log.claim("worker:2", 5, LEASE, T0)
        assert again.item.key == "e1:t1:1"
        assert again.token != lease.token
        with pytest.raises(StaleLeaseError):
            log.release(lease)
