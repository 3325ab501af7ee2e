"""A row the code cannot read fails the read, naming the row; old rows are upcast."""

from __future__ import annotations

import pytest

from sluice.core.errors import EventDecodeError
from sluice.core.events import TaskRunStarted
from sluice.eventstore import open_event_log, register_upcaster, upcasters
from tests.eventstore.builders import started, wait_readable
from tests.eventstore.raw import insert_row


@pytest.fixture
def log(db_url):
    log = open_event_log(db_url)
    yield log
    log.close()


def test_read_raises_naming_the_row_when_its_type_is_unknown(log):
    position = insert_row(
        log.engine, stream="execution/e1", type="TaskRunTeleported", data="{}"
    )
    with pytest.raises(EventDecodeError) as caught:
        log.read_stream("execution/e1")
    assert f"position {position} in stream 'execution/e1'" in str(caught.value)
    assert "TaskRunTeleported" in str(caught.value)


def test_read_all_raises_when_a_row_does_not_decode(log):
    log.append("execution/e0", [started()], 0)
    position = insert_row(
        log.engine, stream="execution/e1", type="TaskRunStarted",
        data='{"type":"TaskRunStarted","attempt":"two"}',
    )  # fmt: skip
    wait_readable(log, position)
    with pytest.raises(EventDecodeError, match=f"position {position}"):
        log.read_all()


def test_read_raises_when_row_has_a_newer_schema_version(log):
    insert_row(
        log.engine, stream="execution/e1", type="TaskRunStarted", schema_version=2,
        data='{"type":"TaskRunStarted","task_run_id":"t1"}',
    )  # fmt: skip
    with pytest.raises(EventDecodeError, match="newer than this code"):
        log.read_stream("execution/e1")


def test_read_upcasts_a_row_written_by_an_older_version(log, monkeypatch):
    insert_row(
        log.engine, stream="execution/e1", type="TaskRunStarted",
        data='{"type":"TaskRunStarted","task_run_id":"t1","host":"box7"}',
    )  # fmt: skip
    monkeypatch.setattr(TaskRunStarted, "schema_version", 2)
    register_upcaster("TaskRunStarted", 1, lambda d: {**d, "worker": d.pop("host")})
    try:
        [recorded] = log.read_stream("execution/e1")
    finally:
        upcasters.remove("TaskRunStarted", 1)
    assert recorded.event == TaskRunStarted(task_run_id="t1", worker="box7")
    assert recorded.schema_version == 1
