"""Realistic event histories, appended to the log the way the engine writes them.

`Plan` describes one execution (its tasks and how each ends); `execution_events` turns
it into the events the scheduler, workers, triggers and operators would record, with
their actors. Used by the projection tests, the CLI tests and the query benchmark.
"""


from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sluice.core.events import (
    Event,
    ExecutionCreated,
    ExecutionEnded,
    ExecutionKillRequested,
    ExecutionPaused,
    ExecutionQueued,
    ExecutionRestarted,
    ExecutionResumed,
    ExecutionStarted,
    FlowDeployed,
    NewEvent,
    OperatorActionRecorded,
    ReplayOrigin,
    TaskRunCreated,
    TaskRunDispatched,
    TaskRunEnded,
    TaskRunFailed,
    TaskRunRetryScheduled,
    TaskRunStarted,
    TaskRunSucceeded,
    TriggerCursorAdvanced,
    TriggerEvaluationFailed,
    TriggerFired,
)
from sluice.core.ports import ANY_VERSION, StreamAppend

Outcome = Literal["success", "retry", "fail", "pause", "kill", "running"]
DUE = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    """One execution: where it comes from and how each of its tasks ends."""

    execution_id: str
    namespace: str = "prod"
    flow_id: str = "etl"
    tasks: Sequence[Outcome] = ("success",)
    labels: dict[str, str] = field(default_factory=dict)
    trigger_id: str | None = None
    queued: bool = False
    restart: bool = False
    resumer: str = "user:bob"
    killer: str = "user:carol"
    replay_of: str | None = None


Step = tuple[str, str, Event]
"""(stream, actor, event)."""


def execution_events(plan: Plan) -> list[Step]:
    """The events an execution following `plan` records, in order."""
    stream, steps = f"execution/{plan.execution_id}", []
    trigger = None
    creator = "scheduler"
    if plan.trigger_id:
        trigger = {"id": plan.trigger_id, "type": "core.Schedule", "variables": {}}
        creator = f"trigger:{plan.namespace}/{plan.flow_id}/{plan.trigger_id}"
        steps.append((
            f"trigger/{plan.namespace}/{plan.flow_id}/{plan.trigger_id}", creator,
            TriggerFired(trigger_id=plan.trigger_id, namespace=plan.namespace,
                         flow_id=plan.flow_id, execution_id=plan.execution_id),
        ))  # fmt: skip
    origin = None
    if plan.replay_of:
        origin, creator = (
            ReplayOrigin(execution_id=plan.replay_of, by="user:alice"),
            "user:alice",
        )
    steps.append((stream, creator, ExecutionCreated(
        execution_id=plan.execution_id, namespace=plan.namespace, flow_id=plan.flow_id,
        flow_revision=1, labels=dict(plan.labels), trigger=trigger, origin=origin,
    )))  # fmt: skip
    if plan.queued:
        steps.append((stream, "scheduler", ExecutionQueued(reason="concurrency limit")))
    steps.append((stream, "scheduler", ExecutionStarted()))
    end = "SUCCESS"
    for i, outcome in enumerate(plan.tasks):
        run_id = f"{plan.execution_id}-t{i}"
        steps += [
            (stream, actor, e)
            for actor, e in _task_events(run_id, f"task{i}", outcome, plan)
        ]
        if outcome == "running":
            return steps
        if outcome in ("fail", "kill"):
            end = "FAILED" if outcome == "fail" else "KILLED"
            break
    steps.append((stream, "scheduler", ExecutionEnded(state=end)))  # type: ignore[arg-type]
    if plan.restart and end == "FAILED":
        failed = f"{plan.execution_id}-t{i}"
        steps += [
            (stream, "user:dave", ExecutionRestarted(by="user:dave", task_run_ids=[failed], attempt_number=2)),
            (stream, "scheduler", TaskRunDispatched(task_run_id=failed, attempt=2)),
            (stream, "worker:w2", TaskRunStarted(task_run_id=failed, attempt=2, worker="w2")),
            (stream, "worker:w2", TaskRunSucceeded(task_run_id=failed, attempt=2, outputs={"rows": 7})),
            (stream, "scheduler", ExecutionEnded(state="SUCCESS")),
        ]  # fmt: skip
    return steps


def _task_events(
    run_id: str, task_id: str, outcome: Outcome, plan: Plan
) -> list[tuple[str, Event]]:
    started = ("worker:w1", TaskRunStarted(task_run_id=run_id, attempt=1, worker="w1"))
    events: list[tuple[str, Event]] = [
        ("scheduler", TaskRunCreated(task_run_id=run_id, task_id=task_id, queued=True)), started,
    ]  # fmt: skip
    if outcome == "success":
        events.append(
            (
                "worker:w1",
                TaskRunSucceeded(
                    task_run_id=run_id, attempt=1, outputs={"uri": f"s3://b/{run_id}"}
                ),
            )
        )
    elif outcome == "retry":
        events += [
            ("worker:w1", TaskRunFailed(task_run_id=run_id, attempt=1, error_type="Throttling", message="slow down", retryable=True)),
            ("scheduler", TaskRunRetryScheduled(task_run_id=run_id, attempt=2, due=DUE)),
            ("scheduler", TaskRunDispatched(task_run_id=run_id, attempt=2)),
            ("worker:w2", TaskRunStarted(task_run_id=run_id, attempt=2, worker="w2")),
            ("worker:w2", TaskRunSucceeded(task_run_id=run_id, attempt=2, outputs={"rows": 3})),
        ]  # fmt: skip
    elif outcome == "fail":
        events += [
            ("worker:w1", TaskRunFailed(task_run_id=run_id, attempt=1, error_type="AccessDenied", message="no")),
            ("scheduler", TaskRunEnded(task_run_id=run_id, state="FAILED", message="no")),
        ]  # fmt: skip
    elif outcome == "pause":
        events += [
            ("scheduler", ExecutionPaused(task_run_id=run_id, resume_due=DUE)),
            (plan.resumer, ExecutionResumed(task_run_id=run_id, by=plan.resumer, inputs={"approved": True})),
        ]  # fmt: skip
    elif outcome == "kill":
        events += [
            (plan.killer, ExecutionKillRequested(by=plan.killer)),
            ("scheduler", TaskRunEnded(task_run_id=run_id, state="KILLED")),
        ]  # fmt: skip
    return events


def new_events(steps: Sequence[Step]) -> list[StreamAppend]:
    """Group consecutive steps of the same stream into appends (order kept)."""
    appends: list[StreamAppend] = []
    for stream, actor, event in steps:
        new = NewEvent(event=event, actor=actor)
        if appends and appends[-1].stream == stream:
            last = appends[-1]
            appends[-1] = StreamAppend(
                stream=stream, events=[*last.events, new], expected_version=ANY_VERSION
            )
        else:
            appends.append(
                StreamAppend(stream=stream, events=[new], expected_version=ANY_VERSION)
            )
    return appends


def record(log, steps: Sequence[Step]) -> None:
    """Append `steps` in one transaction, and wait until readers may see them.

    On PostgreSQL an event becomes readable (gap-free) once every transaction older
    than its writer has ended, anywhere in the cluster: other test runs sharing the
    server can hold that back for a moment.
    """
    results = log.append_many(new_events(steps))
    last = max(p for r in results for p in r.positions)
    deadline = time.monotonic() + 30
    while log.head_position() < last:
        assert time.monotonic() < deadline, "appended events never became readable"
        time.sleep(0.01)


def run(log, *plans: Plan) -> None:
    """Append the whole history of each plan."""
    for plan in plans:
        record(log, execution_events(plan))


def deploy(
    namespace: str, flow_id: str, revision: int = 1, actor: str = "user:alice"
) -> list[Step]:
    """A flow revision deployed by `actor`."""
    return [(f"flow/{namespace}/{flow_id}", actor, FlowDeployed(
        namespace=namespace, flow_id=flow_id, revision=revision,
        source=f"id: {flow_id}\nnamespace: {namespace}\n", checksum=f"c{revision}",
    ))]  # fmt: skip


def trigger_noise(namespace: str, flow_id: str, trigger_id: str, n: int) -> list[Step]:
    """A polling trigger's cursor moves and failures, without fires."""
    stream, actor = (
        f"trigger/{namespace}/{flow_id}/{trigger_id}",
        f"trigger:{namespace}/{flow_id}/{trigger_id}",
    )
    steps: list[Step] = []
    for i in range(n):
        if i % 3 == 2:
            steps.append(
                (
                    stream,
                    actor,
                    TriggerEvaluationFailed(
                        trigger_id=trigger_id,
                        error_type="Timeout",
                        message=f"poll {i} timed out",
                    ),
                )
            )
        else:
            steps.append(
                (
                    stream,
                    actor,
                    TriggerCursorAdvanced(
                        trigger_id=trigger_id, cursor={"after": f"key-{i}"}
                    ),
                )
            )
    return steps


def operator_action(
    action: str, actor: str, execution_id: str | None = None, **detail: object
) -> list[Step]:
    """An audited operator command that changes no execution."""
    return [
        (
            "audit",
            actor,
            OperatorActionRecorded(
                action=action,
                execution_id=execution_id,
                detail=dict(detail),
                address="127.0.0.1",
            ),
        )
    ]
