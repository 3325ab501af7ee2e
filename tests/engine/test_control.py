"""Pause and resume by a named approver, kill, subflows and flow concurrency."""

from __future__ import annotations

import asyncio

import pytest

from sluice.cli.run import resume_execution, stop_when_settled
from sluice.core.errors import InputError, InvalidCommandError
from tests.engine.conftest import events_of, flow_source, run_flow

APPROVAL = """
    id: approval
    namespace: ops
    tasks:
      - id: before
        type: core.Return
        format: staged
      - id: gate
        type: core.Pause
        onResume:
          - id: ticket
            type: STRING
          - id: go
            type: BOOL
            defaults: true
      - id: after
        type: core.Return
        format: "{{ outputs.gate.onResume.ticket }} by {{ outputs.gate.resumed.by }}"
"""


async def test_pause_waits_for_a_named_approver_and_records_the_approval(runtime):
    paused = await run_flow(runtime, APPROVAL)
    assert paused.state == "PAUSED"
    assert "after" not in paused.task_runs
    resume_execution(runtime, paused.id, {"ticket": "CHG-42"}, "user:alice")
    state = await runtime.drive(paused.id, stop_when_settled)
    assert state.state == "SUCCESS"
    gate = state.task_runs["gate"].outputs
    assert gate["onResume"] == {"ticket": "CHG-42", "go": True}
    assert gate["resumed"]["by"] == "alice"
    assert state.task_runs["after"].outputs == {"value": "CHG-42 by alice"}
    resumed = [e for e in events_of(runtime, paused.id) if e.type == "ExecutionResumed"]
    assert len(resumed) == 1 and resumed[0].actor == "user:alice"


async def test_resume_with_invalid_inputs_is_refused_and_keeps_the_pause(runtime):
    paused = await run_flow(runtime, APPROVAL)
    try:
        resume_execution(runtime, paused.id, {"go": "maybe"}, "user:bob")
    except InputError as err:
        message = str(err)
    else:
        raise AssertionError("resume with invalid inputs must fail")
    assert "ticket" in message
    assert runtime.state(paused.id).state == "PAUSED"


async def test_resume_of_a_running_or_ended_execution_is_refused(runtime):
    done = await run_flow(
        runtime,
        """
        id: quick
        namespace: ops
        tasks:
          - id: a
            type: core.Return
            format: a
    """,
    )
    with pytest.raises(InvalidCommandError, match="SUCCESS"):
        resume_execution(runtime, done.id, {}, "user:bob")


async def test_pause_duration_with_behavior_fail_fails_when_nobody_approves(runtime):
    state = await run_flow(
        runtime,
        """
        id: timed
        namespace: ops
        tasks:
          - id: gate
            type: core.Pause
            pauseDuration: PT0.1S
            behavior: FAIL
    """,
    )
    if state.state == "PAUSED":
        state = await runtime.drive(state.id, lambda s: s.terminal)
    assert state.state == "FAILED"
    assert state.task_runs["gate"].state == "FAILED"


async def test_pause_duration_with_behavior_resume_goes_on_by_itself(runtime):
    state = await run_flow(
        runtime,
        """
        id: autoresume
        namespace: ops
        tasks:
          - id: gate
            type: core.Pause
            pauseDuration: PT0.1S
          - id: after
            type: core.Return
            format: done
    """,
    )
    if state.state == "PAUSED":
        state = await runtime.drive(state.id, lambda s: s.terminal)
    assert state.state == "SUCCESS"
    assert state.task_runs["gate"].outputs["resumed"]["timedOut"] is True


async def test_kill_marks_running_task_runs_killed_and_ends_killed(runtime):
    from sluice.core.events import ExecutionKillRequested, NewEvent

    paused = await run_flow(runtime, APPROVAL)
    runtime.log.append(
        f"execution/{paused.id}",
        [NewEvent(event=ExecutionKillRequested(by="carol"), actor="user:carol")],
        -1,
    )
    state = await runtime.drive(paused.id, lambda s: s.terminal)
    assert state.state == "KILLED"
    assert state.task_runs["gate"].state == "KILLED"
    assert "after" not in state.task_runs


async def test_subflow_waits_for_its_child_and_passes_outputs(runtime):
    runtime.flows.deploy(
        flow_source("""
        id: child
        namespace: demo
        inputs:
          - id: x
            type: INT
        tasks:
          - id: double
            type: core.Return
            format: "{{ inputs.x * 2 }}"
        outputs:
          - id: result
            value: "{{ outputs.double.value }}"
    """)
    )
    state = await run_flow(
        runtime,
        """
        id: parent
        namespace: demo
        tasks:
          - id: call
            type: core.Subflow
            namespace: demo
            flowId: child
            inputs:
              x: 21
          - id: use
            type: core.Return
            format: "{{ outputs.call.outputs.result }}"
    """,
    )
    assert state.state == "SUCCESS"
    child_id = state.task_runs["call"].outputs["executionId"]
    child = runtime.state(child_id)
    assert child.state == "SUCCESS" and child.parent.execution_id == state.id
    assert state.task_runs["use"].outputs == {"value": 42}


async def test_subflow_failure_is_transmitted_to_the_parent(runtime):
    runtime.flows.deploy(
        flow_source("""
        id: badchild
        namespace: demo
        tasks:
          - id: boom
            type: core.Fail
    """)
    )
    state = await run_flow(
        runtime,
        """
        id: parent2
        namespace: demo
        tasks:
          - id: call
            type: core.Subflow
            namespace: demo
            flowId: badchild
    """,
    )
    assert state.state == "FAILED"
    assert state.task_runs["call"].state == "FAILED"


async def test_concurrency_limit_queues_a_second_execution_until_the_first_ends(
    runtime,
):
    flow = runtime.flows.deploy(
        flow_source("""
        id: single
        namespace: ops
        concurrency:
          limit: 1
        tasks:
          - id: gate
            type: core.Pause
    """)
    )
    first = runtime.create_execution(flow, {}, actor="user:t", from_cli=False)
    second = runtime.create_execution(flow, {}, actor="user:t", from_cli=False)
    await runtime.drive(first, stop_when_settled)
    scheduler = runtime.scheduler()
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    for _ in range(100):
        await asyncio.sleep(0.02)
        if runtime.state(second).state == "QUEUED":
            break
    stop.set()
    await task
    assert runtime.state(first).state == "PAUSED"
    assert runtime.state(second).state == "QUEUED"
    resume_execution(runtime, first, {}, "user:alice")
    await runtime.drive(first, lambda s: s.terminal)
    later = await runtime.drive(second, stop_when_settled)
    assert later.state == "PAUSED"


async def test_shutdown_gives_an_unfinished_attempt_back_to_the_queue_at_once(runtime):
    from datetime import timedelta

    flow = runtime.flows.deploy(
        flow_source("""
        id: long
        namespace: ops
        tasks:
          - id: slow
            type: script.Commands
            commands:
              - sleep 30
    """)
    )
    execution_id = runtime.create_execution(flow, {}, actor="user:t", from_cli=False)
    scheduler = runtime.scheduler(lease_for=timedelta(seconds=60), shutdown_grace=0.2)
    stop = asyncio.Event()
    running = asyncio.create_task(scheduler.run(stop))
    for _ in range(200):
        await asyncio.sleep(0.05)
        if any(e.type == "TaskRunStarted" for e in events_of(runtime, execution_id)):
            break
    stop.set()
    await running
    # The lease had 60 s left: only a release lets another worker claim it now.
    leases = runtime.log.claim("other", 5, timedelta(seconds=5), runtime.clock.now())
    assert [lease.item.task_run_id for lease in leases] == ["slow"]
