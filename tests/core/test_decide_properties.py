"""Property tests: random flows of Parallel/ForEach/If, random completion orders.

The simulation plays the scheduler and the workers without a database: decide, record
the events, complete pending work items in an order hypothesis picks (some fail). At the
end, folding the recorded log again gives exactly the state the simulation maintained
incrementally, and folding twice gives the same state (replay is deterministic).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sluice.plugins.core  # noqa: F401 (registers core tasks)
from sluice.core.context import build_context
from sluice.core.decide import decide
from sluice.core.events import (
    RecordedEvent,
    TaskRunFailed,
    TaskRunStarted,
    TaskRunSucceeded,
)
from sluice.core.expressions import Renderer
from sluice.core.flow import parse_flow
from sluice.core.state import apply, fold

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Evaluator:
    def __init__(self) -> None:
        self.renderer = Renderer(now=lambda: T0)

    def render(self, value, flow, state, *, run=None, loop_value=None, iteration=None):
        context = build_context(flow, state, run, value=loop_value, iteration=iteration)
        return self.renderer.render(value, context)

    def child_flow(self, namespace, flow_id):
        return None


def _task_yaml(node, counter, depth) -> list[str]:
    kind = node[0]
    counter[0] += 1
    tid = f"t{counter[0]}"
    pad = "  " * depth
    if kind == "leaf":
        lines = [f"{pad}- id: {tid}", f"{pad}  type: core.Return", f"{pad}  format: x"]
        if node[1]:
            lines += [f"{pad}  allowFailure: true"]
        return lines
    children = node[1]
    if kind == "parallel":
        head = [f"{pad}- id: {tid}", f"{pad}  type: core.Parallel", f"{pad}  tasks:"]
    elif kind == "foreach":
        head = [
            f"{pad}- id: {tid}",
            f"{pad}  type: core.ForEach",
            f"{pad}  values: [1, 2]",
            f"{pad}  concurrencyLimit: {node[2]}",
            f"{pad}  tasks:",
        ]
    else:
        head = [
            f"{pad}- id: {tid}",
            f"{pad}  type: core.If",
            f'{pad}  condition: "{{{{ {str(node[2]).lower()} }}}}"',
            f"{pad}  then:",
        ]
    body = []
    for child in children:
        body += _task_yaml(child, counter, depth + 2)
    if kind == "if":
        body += [f"{pad}  else:"]
        body += _task_yaml(("leaf", False), counter, depth + 2)
    return head + body


leaf = st.tuples(st.just("leaf"), st.booleans())
trees = st.recursive(
    leaf,
    lambda kids: st.one_of(
        st.tuples(st.just("parallel"), st.lists(kids, min_size=1, max_size=3)),
        st.tuples(
            st.just("foreach"),
            st.lists(kids, min_size=1, max_size=2),
            st.sampled_from([0, 1]),
        ),
        st.tuples(st.just("if"), st.lists(kids, min_size=1, max_size=2), st.booleans()),
    ),
    max_leaves=6,
)


def build_flow(roots):
    counter = [0]
    lines = ["id: prop", "namespace: test", "tasks:"]
    for root in roots:
        lines += _task_yaml(root, counter, 1)
    return parse_flow("\n".join(lines) + "\n")


def simulate(flow, choices):
    from sluice.core.events import ExecutionCreated
    from sluice.core.state import ExecutionState

    log: list[RecordedEvent] = []
    state = ExecutionState()
    now = T0

    def record(event):
        recorded = RecordedEvent(
            position=len(log) + 1,
            stream="execution/e",
            version=len(log) + 1,
            event=event,
            actor="sim",
            recorded_at=now,
        )
        log.append(recorded)
        apply(state, recorded)

    record(
        ExecutionCreated(
            execution_id="e", namespace="test", flow_id="prop", flow_revision=1
        )
    )
    pending: list = []
    evaluator = Evaluator()
    for _ in range(500):
        decision = decide(flow, state, now, evaluator)
        for event in decision.events:
            record(event)
        pending.extend(decision.work)
        if state.terminal:
            break
        if not pending:
            now += timedelta(seconds=1)
            continue
        pick = choices.draw(st.integers(0, len(pending) - 1))
        item = pending.pop(pick)
        run = state.task_runs[item.task_run_id]
        record(TaskRunStarted(task_run_id=run.id, attempt=run.attempt, worker="w"))
        if choices.draw(st.booleans()):
            record(
                TaskRunSucceeded(
                    task_run_id=run.id, attempt=run.attempt, outputs={"v": 1}
                )
            )
        else:
            record(
                TaskRunFailed(
                    task_run_id=run.id,
                    attempt=run.attempt,
                    error_type="Sim",
                    message="simulated",
                )
            )
    return state, log


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roots=st.lists(trees, min_size=1, max_size=3), choices=st.data())
def test_refolding_the_log_gives_the_scheduler_state_and_replay_is_deterministic(
    roots, choices
):
    flow = build_flow(roots)
    state, log = simulate(flow, choices)
    assert state.terminal, f"execution did not end: {state.state}"
    again = fold(log)
    assert asdict(again) == asdict(state)
    assert asdict(fold(log)) == asdict(again)
    for run in state.task_runs.values():
        assert run.settled, f"{run.id} left {run.state}"


def test_random_retry_delay_is_the_same_in_every_process():
    import subprocess
    import sys

    code = (
        "import sluice.plugins.core\n"
        "from tests.core.test_decide_properties import random_retry_due\n"
        "print(random_retry_due())\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def random_retry_due() -> str:
    """The due time decide picks for a `random` retry policy (used in subprocesses)."""

    flow = parse_flow(
        "id: r\nnamespace: t\ntasks:\n  - id: a\n    type: core.Fail\n"
        "    retry:\n      type: random\n      minInterval: PT1S\n"
        "      maxInterval: PT100S\n      maxAttempts: 3\n"
    )
    state, _ = simulate_until_failure(flow)
    decision = decide(flow, state, T0, Evaluator())
    return str(decision.next_due)


def simulate_until_failure(flow):
    from sluice.core.events import ExecutionCreated, TaskRunFailed
    from sluice.core.state import ExecutionState

    state, log = ExecutionState(), []

    def record(event):
        recorded = RecordedEvent(
            position=len(log) + 1,
            stream="execution/e",
            version=len(log) + 1,
            event=event,
            actor="t",
            recorded_at=T0,
        )
        log.append(recorded)
        apply(state, recorded)

    record(
        ExecutionCreated(execution_id="e", namespace="t", flow_id="r", flow_revision=1)
    )
    for event in decide(flow, state, T0, Evaluator()).events:
        record(event)
    record(TaskRunFailed(task_run_id="a", attempt=1, error_type="X", message="x"))
    return state, log
