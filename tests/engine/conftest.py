"""Engine fixtures: a runtime over a fresh database, and helpers to run flow sources."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from sluice.cli.run import stop_when_settled
from sluice.cli.runtime import Runtime
from sluice.core.events import RecordedEvent
from sluice.core.state import ExecutionState
from sluice.eventstore import open_event_log


@pytest.fixture
def runtime(db_url, tmp_path) -> Iterator[Runtime]:
    """A runtime (log + local storage) over this test's fresh database."""
    log = open_event_log(db_url)
    try:
        yield Runtime.open(log, str(tmp_path / "data"))
    finally:
        log.close()


def flow_source(text: str) -> str:
    """Dedent a flow written inline in a test."""
    return textwrap.dedent(text).lstrip()


async def run_flow(
    runtime: Runtime, source: str, inputs: dict[str, Any] | None = None
) -> ExecutionState:
    """Deploy `source`, start an execution, run it until it ends or pauses."""
    flow = runtime.flows.deploy(flow_source(source))
    execution_id = runtime.create_execution(
        flow, inputs or {}, actor="user:tester", from_cli=False
    )
    return await runtime.drive(execution_id, stop_when_settled)


def events_of(runtime: Runtime, execution_id: str) -> list[RecordedEvent]:
    """The execution's recorded events."""
    return runtime.log.read_stream(f"execution/{execution_id}")


def types_of(runtime: Runtime, execution_id: str) -> list[str]:
    """The execution's event types, in order."""
    return [e.type for e in events_of(runtime, execution_id)]
