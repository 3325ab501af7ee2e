"""Flows in, executions out: core tasks, flowables, outputs and expressions."""

from __future__ import annotations

import itertools

from tests.engine.conftest import run_flow, types_of


async def test_run_sequential_tasks_succeeds_with_typed_outputs(runtime):
    state = await run_flow(
        runtime,
        """
        id: hello
        namespace: demo
        inputs:
          - id: name
            type: STRING
            defaults: world
          - id: n
            type: INT
            defaults: 3
        tasks:
          - id: greet
            type: core.Return
            format: "hello {{ inputs.name }}"
          - id: numbers
            type: core.OutputValues
            values:
              doubled: "{{ inputs.n * 2 }}"
              items: "{{ [1, 2, inputs.n] }}"
          - id: log
            type: core.Log
            message: "{{ outputs.greet.value }} {{ outputs.numbers.values.doubled }}"
        outputs:
          - id: doubled
            value: "{{ outputs.numbers.values.doubled }}"
    """,
        {"name": "sluice"},
    )
    assert state.state == "SUCCESS"
    assert state.task_runs["greet"].outputs == {"value": "hello sluice"}
    assert state.task_runs["numbers"].outputs["values"] == {
        "doubled": 6,
        "items": [1, 2, 3],
    }
    assert state.outputs == {"doubled": 6}
    lines = runtime.log.read_logs(state.id)
    assert [line.message for line in lines] == ["hello sluice 6"]
    kinds = types_of(runtime, state.id)
    assert kinds[0] == "ExecutionCreated" and kinds[-1] == "ExecutionEnded"
    assert kinds.count("TaskRunSucceeded") == 3


async def test_if_and_switch_route_to_the_matching_branch(runtime):
    state = await run_flow(
        runtime,
        """
        id: routes
        namespace: demo
        inputs:
          - id: key
            type: STRING
        tasks:
          - id: check
            type: core.If
            condition: "{{ inputs.key.startswith('raw/orders/') }}"
            then:
              - id: orders
                type: core.Return
                format: orders
            else:
              - id: other
                type: core.Return
                format: other
          - id: route
            type: core.Switch
            value: "{{ inputs.key.split('/')[1] }}"
            cases:
              orders:
                - id: case_orders
                  type: core.Return
                  format: o
              clicks:
                - id: case_clicks
                  type: core.Return
                  format: c
            defaults:
              - id: case_default
                type: core.Return
                format: d
    """,
        {"key": "raw/orders/1.csv"},
    )
    assert state.state == "SUCCESS"
    assert "orders" in state.task_runs and "other" not in state.task_runs
    assert state.task_runs["check"].outputs == {"evaluationResult": True}
    assert "case_orders" in state.task_runs
    assert (
        "case_clicks" not in state.task_runs and "case_default" not in state.task_runs
    )
    assert state.task_runs["route"].outputs == {"value": "orders", "defaults": False}


async def test_foreach_runs_each_value_and_outputs_are_addressable_by_value(runtime):
    state = await run_flow(
        runtime,
        """
        id: loop
        namespace: demo
        tasks:
          - id: each
            type: core.ForEach
            values: ["a", "b", "c"]
            concurrencyLimit: 0
            tasks:
              - id: upper
                type: core.Return
                format: "{{ taskrun.value | upper }}"
              - id: again
                type: core.Return
                format: "{{ outputs.upper[taskrun.value].value }}{{ taskrun.iteration }}"
          - id: after
            type: core.Return
            format: "{{ outputs.again['b'].value }}"
    """,
    )
    assert state.state == "SUCCESS"
    assert state.task_runs["again[2]"].outputs == {"value": "C2"}
    assert state.task_runs["after"].outputs == {"value": "B1"}
    assert state.task_runs["each"].outputs == {"values": ["a", "b", "c"]}


async def test_foreach_with_limit_one_runs_values_one_after_another(runtime):
    state = await run_flow(
        runtime,
        """
        id: loop1
        namespace: demo
        tasks:
          - id: each
            type: core.ForEach
            values: "[1, 2, 3]"
            tasks:
              - id: step
                type: core.Return
                format: "{{ taskrun.value }}"
    """,
    )
    assert state.state == "SUCCESS"
    runs = [state.task_runs[f"step[{i}]"] for i in range(3)]
    for earlier, later in itertools.pairwise(runs):
        assert earlier.ended <= later.created


async def test_parallel_and_sequential_children_all_run(runtime):
    state = await run_flow(
        runtime,
        """
        id: par
        namespace: demo
        tasks:
          - id: fan
            type: core.Parallel
            concurrent: 2
            tasks:
              - id: a
                type: core.Return
                format: a
              - id: b
                type: core.Sequential
                tasks:
                  - id: b1
                    type: core.Return
                    format: b1
                  - id: b2
                    type: core.Return
                    format: "{{ outputs.b1.value }}-b2"
              - id: c
                type: core.Return
                format: c
    """,
    )
    assert state.state == "SUCCESS"
    assert state.task_runs["b2"].outputs == {"value": "b1-b2"}
    assert {r.state for r in state.task_runs.values()} == {"SUCCESS"}


async def test_failing_task_runs_errors_and_finally_and_fails_the_execution(runtime):
    state = await run_flow(
        runtime,
        """
        id: failing
        namespace: demo
        tasks:
          - id: first
            type: core.Return
            format: ok
          - id: boom
            type: core.Fail
            errorMessage: "it broke"
          - id: never
            type: core.Return
            format: never
        errors:
          - id: alert
            type: core.Log
            message: "failed"
        finally:
          - id: cleanup
            type: core.Log
            message: cleanup
    """,
    )
    assert state.state == "FAILED"
    assert "never" not in state.task_runs
    assert state.task_runs["alert"].state == "SUCCESS"
    assert state.task_runs["cleanup"].state == "SUCCESS"
    assert "it broke" in state.reason


async def test_allow_failure_ends_the_execution_in_warning(runtime):
    state = await run_flow(
        runtime,
        """
        id: tolerant
        namespace: demo
        tasks:
          - id: boom
            type: core.Fail
            allowFailure: true
          - id: next
            type: core.Return
            format: went on
    """,
    )
    assert state.state == "WARNING"
    assert state.task_runs["boom"].state == "WARNING"
    assert state.task_runs["next"].state == "SUCCESS"


async def test_retry_policy_retries_until_the_task_succeeds(runtime):
    state = await run_flow(
        runtime,
        """
        id: flaky
        namespace: demo
        tasks:
          - id: flaky
            type: core.Fail
            condition: "{{ taskrun.attemptsCount < 3 }}"
            retry:
              type: constant
              interval: PT0.05S
              maxAttempts: 5
    """,
    )
    assert state.state == "SUCCESS"
    run = state.task_runs["flaky"]
    assert run.attempt == 3
    assert [a.state for a in run.attempts] == ["FAILED", "FAILED", "SUCCESS"]
    kinds = types_of(runtime, state.id)
    assert kinds.count("TaskRunRetryScheduled") == 2


async def test_retry_policy_gives_up_after_max_attempts(runtime):
    state = await run_flow(
        runtime,
        """
        id: hopeless
        namespace: demo
        tasks:
          - id: nope
            type: core.Fail
            retry:
              type: exponential
              interval: PT0.02S
              maxInterval: PT0.1S
              maxAttempts: 3
    """,
    )
    assert state.state == "FAILED"
    assert state.task_runs["nope"].attempt == 3


async def test_run_if_false_skips_and_disabled_tasks_do_not_run(runtime):
    state = await run_flow(
        runtime,
        """
        id: skips
        namespace: demo
        tasks:
          - id: skipped
            type: core.Return
            format: x
            runIf: "{{ 1 > 2 }}"
          - id: turned_off
            type: core.Return
            format: y
            disabled: true
          - id: ran
            type: core.Return
            format: z
    """,
    )
    assert state.state == "SUCCESS"
    assert state.task_runs["skipped"].state == "SKIPPED"
    assert state.task_runs["turned_off"].state == "SKIPPED"
    assert state.task_runs["ran"].state == "SUCCESS"


async def test_sleep_is_a_durable_timer_not_a_busy_worker(runtime):
    state = await run_flow(
        runtime,
        """
        id: sleeper
        namespace: demo
        tasks:
          - id: nap
            type: core.Sleep
            duration: PT0.2S
          - id: after
            type: core.Return
            format: awake
    """,
    )
    assert state.state == "SUCCESS"
    kinds = types_of(runtime, state.id)
    assert "TaskRunWaiting" in kinds
    nap = state.task_runs["nap"]
    assert (nap.ended - nap.started).total_seconds() >= 0.2


async def test_expression_error_fails_the_task_with_the_expression_named(runtime):
    state = await run_flow(
        runtime,
        """
        id: badexpr
        namespace: demo
        tasks:
          - id: bad
            type: core.Return
            format: "{{ outputs.missing.value }}"
    """,
    )
    assert state.state == "FAILED"
    assert "missing" in state.task_runs["bad"].message


async def test_foreach_over_objects_addresses_sibling_outputs_by_the_object(runtime):
    state = await run_flow(
        runtime,
        """
        id: objects
        namespace: demo
        tasks:
          - id: each
            type: core.ForEach
            values: '[{"name": "dev", "prod": false}, {"name": "prod", "prod": true}]'
            tasks:
              - id: label
                type: core.Return
                format: "{{ taskrun.value.name }}"
              - id: again
                type: core.Return
                format: "{{ outputs.label[taskrun.value].value }}!"
              - id: boom
                type: core.Fail
                condition: "{{ taskrun.value.prod }}"
                errorMessage: "prod is locked"
    """,
    )
    assert state.state == "FAILED"
    assert state.task_runs["again[0]"].outputs == {"value": "dev!"}
    assert state.task_runs["again[1]"].outputs == {"value": "prod!"}
    assert state.reason == "task 'boom' failed: prod is locked"
