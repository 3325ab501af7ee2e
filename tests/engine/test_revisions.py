"""Flow revisions live in the log; executions are pinned; Kestra names are accepted."""

from __future__ import annotations

from sluice.cli.run import stop_when_settled
from tests.engine.conftest import flow_source, run_flow

V1 = """
    id: versioned
    namespace: demo
    tasks:
      - id: say
        type: core.Return
        format: "{version}"
"""


async def test_redeploying_changed_source_adds_a_revision_and_executions_stay_pinned(
    runtime,
):
    first = runtime.flows.deploy(flow_source(V1.format(version="one")))
    again = runtime.flows.deploy(flow_source(V1.format(version="one")))
    assert first.revision == again.revision == 1
    pinned = runtime.create_execution(first, {}, actor="user:t", from_cli=False)
    second = runtime.flows.deploy(flow_source(V1.format(version="two")))
    assert second.revision == 2
    state = await runtime.drive(pinned, stop_when_settled)
    assert state.flow_revision == 1
    assert state.task_runs["say"].outputs == {"value": "one"}
    deployed = runtime.log.read_stream("flow/demo/versioned")
    assert [e.event.revision for e in deployed] == [1, 2]
    assert "two" in deployed[1].event.source


async def test_kestra_type_names_run_unchanged(runtime):
    state = await run_flow(
        runtime,
        """
        id: kestra
        namespace: demo
        tasks:
          - id: branch
            type: io.kestra.plugin.core.flow.If
            condition: "{{ true }}"
            then:
              - id: hello
                type: io.kestra.plugin.core.log.Log
                message: hi
              - id: value
                type: io.kestra.plugin.core.debug.Return
                format: "x"
    """,
    )
    assert state.state == "SUCCESS"
    assert state.task_runs["value"].outputs == {"value": "x"}


async def test_concurrency_cancel_and_fail_behaviors_end_the_extra_execution(runtime):
    for behavior, expected in (("CANCEL", "CANCELLED"), ("FAIL", "FAILED")):
        flow = runtime.flows.deploy(
            flow_source(f"""
            id: limited-{behavior.lower()}
            namespace: ops
            concurrency:
              limit: 1
              behavior: {behavior}
            tasks:
              - id: gate
                type: core.Pause
        """)
        )
        first = runtime.create_execution(flow, {}, actor="user:t", from_cli=False)
        await runtime.drive(first, stop_when_settled)
        second = runtime.create_execution(flow, {}, actor="user:t", from_cli=False)
        state = await runtime.drive(second, stop_when_settled)
        assert state.state == expected
        assert "concurrency limit" in state.reason


async def test_pause_warn_behavior_ends_in_warning_and_goes_on(runtime):
    state = await run_flow(
        runtime,
        """
        id: warned
        namespace: ops
        tasks:
          - id: gate
            type: core.Pause
            pauseDuration: PT0.05S
            behavior: WARN
          - id: after
            type: core.Return
            format: on
    """,
    )
    if state.state == "PAUSED":
        state = await runtime.drive(state.id, lambda s: s.terminal)
    assert state.state == "WARNING"
    assert state.task_runs["gate"].state == "WARNING"
    assert state.task_runs["after"].state == "SUCCESS"


async def test_task_timeout_fails_the_attempt_and_the_retry_policy_applies(runtime):
    state = await run_flow(
        runtime,
        """
        id: slow
        namespace: demo
        tasks:
          - id: slow
            type: script.Commands
            commands:
              - sleep 5
            timeout: PT0.3S
            retry:
              type: constant
              interval: PT0.05S
              maxAttempts: 2
    """,
    )
    assert state.state == "FAILED"
    run = state.task_runs["slow"]
    assert run.attempt == 2
    assert "timeout" in run.message


async def test_pause_cancel_behavior_cancels_the_execution_when_nobody_approves(
    runtime,
):
    state = await run_flow(
        runtime,
        """
        id: cancelled
        namespace: ops
        tasks:
          - id: gate
            type: core.Pause
            pauseDuration: PT0.05S
            behavior: CANCEL
          - id: after
            type: core.Return
            format: never
    """,
    )
    if state.state == "PAUSED":
        state = await runtime.drive(state.id, lambda s: s.terminal)
    assert state.state == "CANCELLED"
    assert state.task_runs["gate"].state == "CANCELLED"
    assert "after" not in state.task_runs
