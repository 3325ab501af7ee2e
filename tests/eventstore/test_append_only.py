"""The database refuses to rewrite history, and `verify()` finds what was rewritten."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sluice.core.errors import AppendOnlyViolationError
from sluice.eventstore import open_event_log
from sluice.eventstore.chain import EVENT_COLUMNS, EventRow
from sluice.eventstore.codec import row_hash
from sluice.eventstore.schema import events
from tests.eventstore.builders import started
from tests.eventstore.raw import drop_append_only_triggers, update_event


@pytest.fixture
def log(db_url):
    log = open_event_log(db_url)
    yield log
    log.close()


def test_database_refuses_update_of_an_event(log):
    [position] = log.append("execution/a", [started()], 0).positions
    with pytest.raises(
        sa.exc.DBAPIError, match="events are append-only: UPDATE refused"
    ):
        update_event(log.engine, position, actor="user:mallory")
    assert log.read_stream("execution/a")[0].actor == "worker:w1"


def test_database_refuses_delete_of_an_event(log):
    log.append("execution/a", [started()], 0)
    refused = pytest.raises(sa.exc.DBAPIError, match="append-only: DELETE refused")
    with refused, log.engine.begin() as conn:
        conn.execute(sa.delete(events))
    assert len(log.read_stream("execution/a")) == 1


def test_update_inside_a_log_transaction_raises_append_only_violation(log):
    log.append("execution/a", [started()], 0)
    refused = pytest.raises(AppendOnlyViolationError, match="append-only")
    with refused, log.transaction() as conn:
        conn.execute(sa.update(events).values(actor="user:mallory"))


@pytest.mark.postgres
def test_database_refuses_truncate_of_events_on_postgres(pg_url):
    log = open_event_log(pg_url)
    log.append("execution/a", [started()], 0)
    refused = pytest.raises(AppendOnlyViolationError, match="TRUNCATE refused")
    with refused, log.transaction() as conn:
        conn.exec_driver_sql("TRUNCATE events")
    assert len(log.read_stream("execution/a")) == 1
    log.close()


def test_verify_names_the_event_whose_data_was_altered(log):
    log.append("execution/a", [started("t1"), started("t2"), started("t3")], 0)
    altered = log.append("execution/b", [started("b1"), started("b2")], 0).positions[1]
    drop_append_only_triggers(log.engine)
    data = '{"type":"TaskRunStarted","task_run_id":"b2","attempt":9,"worker":"w1"}'
    update_event(log.engine, altered, data=data)
    report = log.verify()
    assert not report.ok
    assert (report.first_bad_position, report.first_bad_stream) == (
        altered,
        "execution/b",
    )
    assert report.first_bad_version == 2
    assert "hash" in report.reason
    assert report.checked == 5


def test_verify_names_the_next_event_when_a_rewrite_also_fixed_its_hash(log):
    positions = log.append(
        "execution/a", [started("t1"), started("t2"), started("t3")], 0
    )
    drop_append_only_triggers(log.engine)
    second = positions.positions[1]
    with log.engine.connect() as conn:
        query = sa.select(*(events.c[name] for name in EVENT_COLUMNS))
        stored = conn.execute(query.where(events.c.position == second)).one()
    forged = EventRow(*stored)._replace(actor="user:mallory")
    update_event(log.engine, second, actor=forged.actor, hash=row_hash(forged))
    report = log.verify()
    assert (report.first_bad_position, report.first_bad_version) == (
        positions.positions[2], 3,
    )  # fmt: skip
    assert "prev_hash" in report.reason


def test_verify_names_the_event_after_a_removed_one(log):
    positions = log.append(
        "execution/a", [started("t1"), started("t2"), started("t3")], 0
    )
    drop_append_only_triggers(log.engine)
    with log.engine.begin() as conn:
        conn.execute(
            sa.delete(events).where(events.c.position == positions.positions[1])
        )
    report = log.verify()
    assert report.first_bad_position == positions.positions[2]
    assert report.reason == "version 3 follows version 1"
