"""PostgreSQL with real concurrent connections: gap-free tailing, racing writers and
claimers. These run in every test run (through `pg_url`), whatever SLUICE_TEST_DB says.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sluice.core.ports import ANY_VERSION
from sluice.eventstore import open_event_log
from tests.eventstore.builders import started, to, versions, wait_readable
from tests.eventstore.contract_concurrency import run_threads, tail_while_threads_append
from tests.eventstore.contract_queue import LEASE, T0, item

pytestmark = pytest.mark.postgres


@pytest.fixture
def log(pg_url):
    log = open_event_log(pg_url)
    yield log
    log.close()


def test_read_all_holds_back_a_later_row_while_an_earlier_transaction_is_open(log):
    before = log.append("execution/before", [started()], 0).positions[-1]
    wait_readable(log, before)
    with log.transaction() as held:
        [open_row] = log.append_many_in(held, [to("execution/held", [started()])])
        later = log.append("execution/later", [started()], 0)
        assert later.positions[0] > open_row.positions[0]
        assert log.read_all(before) == []
        assert log.head_position() < open_row.positions[0]
    wait_readable(log, later.positions[0])
    tail = log.read_all(before)
    assert [e.stream for e in tail] == ["execution/held", "execution/later"]


def test_a_row_committed_late_never_lands_below_what_a_reader_was_given(log):
    # T takes its transaction id first, U appends after it and stays open, T appends
    # and commits. With sequence positions U's row would sit below T's and a reader
    # given T's row would skip it; here U's row lands above.
    before = log.append("execution/before", [started()], 0).positions[-1]
    with log.transaction() as first_id:
        first_id.execute(sa.text("SELECT pg_current_xact_id()"))
        with log.transaction() as open_tx:
            [u] = log.append_many_in(open_tx, [to("execution/u", [started()])])
            [t] = log.append_many_in(first_id, [to("execution/t", [started()])])
            assert u.positions[0] > t.positions[0]
            first_id.commit()
            wait_readable(log, t.positions[0])
            given = log.read_all(before)
            assert [e.stream for e in given] == ["execution/t"]
        wait_readable(log, u.positions[0])
    assert [e.stream for e in log.read_all(given[-1].position)] == ["execution/u"]


def test_tailing_reader_sees_every_event_once_while_threads_append(log):
    tail_while_threads_append(log)


def test_racing_writers_at_the_end_of_one_stream_get_contiguous_versions(log):
    def writer(n: int) -> None:
        for _ in range(15):
            log.append(
                "execution/hot", [started(f"w{n}"), started(f"w{n}")], ANY_VERSION
            )

    run_threads(writer, 6)
    assert versions(log, "execution/hot") == list(range(1, 181))
    assert log.verify().ok


def test_batches_over_shared_streams_in_any_order_never_deadlock(log):
    streams = [f"execution/{i}" for i in range(6)]

    def writer(n: int) -> None:
        order = streams[n % 6 :] + streams[: n % 6]  # each thread its own order
        for _ in range(8):
            log.append_many([to(s, [started(), started()]) for s in order])

    run_threads(writer, 4)
    for stream in streams:
        assert versions(log, stream) == list(range(1, 65))
    assert log.verify().ok


def test_concurrent_claimers_never_get_the_same_item(log):
    log.append_many([], work=[item(f"e1:t{i}:1") for i in range(60)])
    claimed: list[str] = []

    def claimer(n: int) -> None:
        while leases := log.claim(f"worker:{n}", 4, LEASE, T0):
            claimed.extend(lease.item.key for lease in leases)
            log.append_many([], completed=leases)

    run_threads(claimer, 4)
    assert sorted(claimed) == sorted(f"e1:t{i}:1" for i in range(60))
