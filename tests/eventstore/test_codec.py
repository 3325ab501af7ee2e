"""Event <-> row: the stored JSON, upcasting older rows, refusing unreadable ones."""

from __future__ import annotations

import msgspec
import pytest

from sluice.core.errors import EventDecodeError
from sluice.core.events import TaskRunStarted, TaskRunSucceeded
from sluice.eventstore import UpcasterRegistry, register_upcaster, upcasters
from sluice.eventstore.codec import decode_event, encode_event


@pytest.fixture
def task_run_started_v3(monkeypatch):
    """TaskRunStarted as a future sluice may define it: schema version 3."""
    monkeypatch.setattr(TaskRunStarted, "schema_version", 3)
    yield TaskRunStarted
    for step in (1, 2):
        upcasters.remove("TaskRunStarted", step)


def test_encode_event_stores_the_tagged_struct_and_its_schema_version():
    event = TaskRunSucceeded(task_run_id="t1", attempt=2, outputs={"rows": 3})
    type_name, version, data = encode_event(event)
    assert (type_name, version) == ("TaskRunSucceeded", 1)
    assert msgspec.json.decode(data) == {
        "type": "TaskRunSucceeded", "task_run_id": "t1", "attempt": 2,
        "outputs": {"rows": 3},
    }  # fmt: skip
    assert decode_event(type_name, version, data, position=1, stream="s") == event


def test_decode_event_raises_naming_the_row_when_type_is_unknown():
    with pytest.raises(EventDecodeError) as caught:
        decode_event("TaskRunTeleported", 1, "{}", position=42, stream="execution/e1")
    message = str(caught.value)
    assert "42" in message
    assert "execution/e1" in message
    assert "TaskRunTeleported" in message


def test_decode_event_raises_when_schema_version_is_newer_than_the_code():
    data = encode_event(TaskRunStarted(task_run_id="t1"))[2]
    with pytest.raises(EventDecodeError, match="schema_version 2, newer than"):
        decode_event("TaskRunStarted", 2, data, position=7, stream="execution/e1")


@pytest.mark.parametrize(
    "data",
    ['{"type":"TaskRunStarted"', '{"type":"TaskRunStarted","attempt":"two"}', "[1, 2]"],
)
def test_decode_event_raises_naming_the_row_when_data_does_not_decode(data):
    with pytest.raises(EventDecodeError, match=r"position 7 in stream 'execution/e1'"):
        decode_event("TaskRunStarted", 1, data, position=7, stream="execution/e1")


def test_decode_event_raises_when_data_is_tagged_with_another_type():
    data = encode_event(TaskRunStarted(task_run_id="t1"))[2]
    with pytest.raises(EventDecodeError):
        decode_event("TaskRunSucceeded", 1, data, position=7, stream="execution/e1")


def test_upcasters_lift_an_old_row_one_version_at_a_time(task_run_started_v3):
    register_upcaster("TaskRunStarted", 1, lambda d: {**d, "worker": d.pop("host")})
    register_upcaster(
        "TaskRunStarted", 2, lambda d: {**d, "worker": f"w:{d['worker']}"}
    )
    old = '{"type":"TaskRunStarted","task_run_id":"t1","host":"box7"}'
    event = decode_event("TaskRunStarted", 1, old, position=1, stream="execution/e1")
    assert event == TaskRunStarted(task_run_id="t1", worker="w:box7")


def test_a_version_step_without_upcaster_decodes_as_compatible(task_run_started_v3):
    register_upcaster("TaskRunStarted", 2, lambda d: {**d, "attempt": d["attempt"] + 1})
    old = '{"type":"TaskRunStarted","task_run_id":"t1","attempt":1}'
    event = decode_event("TaskRunStarted", 1, old, position=1, stream="execution/e1")
    assert event.attempt == 2


def test_upcaster_registry_forgets_a_removed_step():
    registry = UpcasterRegistry()
    registry.register("X", 1, lambda d: {**d, "lifted": True})
    assert registry.lift("X", 1, 2, {}) == {"lifted": True}
    registry.remove("X", 1)
    assert registry.lift("X", 1, 2, {}) == {}
