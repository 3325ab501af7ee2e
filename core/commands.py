"""Operator commands that re-drive executions: restart in place, replay from a task.

Both are pure: they read a flow and folded state (or recorded events) and return the
events to append; the caller appends them with its actor, so every re-drive is audited.

- Restart: the same execution; every FAILED/KILLED task run and its ancestors run again
  as a new attempt (the failed attempts stay in the history); `errors`/`finally` task
  runs are removed so they run again if needed.
- Replay from a task: a new execution that copies every task run settled before
  `task_id` was first created (state and outputs), keeps the flowable ancestors of that
  task open with their recorded decisions, records its origin, and runs on from there.
"""

from __future__ import annotations

from collections.abc import Sequence

from sluice.core.errors import InvalidCommandError
from sluice.core.events import (
    BaseEvent,
    ExecutionCreated,
    ExecutionRestarted,
    RecordedEvent,
    ReplayOrigin,
    TaskRunCreated,
    TaskRunEnded,
    TaskRunStarted,
)
from sluice.core.flow import Flow, walk
from sluice.core.state import ExecutionState, TaskRunState, fold, state_name

RESTARTABLE = {"FAILED", "KILLED", "CANCELLED", "WARNING", "PAUSED"}


def _handler_task_ids(flow: Flow) -> set[str]:
    """Ids of every task that sits in an `errors` or `finally` list, at any depth."""
    found = {t.id for t in walk(flow.errors + flow.finally_tasks)}
    for task in walk(flow.tasks):
        found |= {t.id for t in walk(task.errors + task.finally_tasks)}
    return found


def restart_event(flow: Flow, state: ExecutionState, by: str) -> ExecutionRestarted:
    """The event that restarts `state`'s failed task runs in place."""
    if state.state not in RESTARTABLE:
        raise InvalidCommandError(
            f"execution is {state.state}; only a FAILED, KILLED, CANCELLED, WARNING or "
            "PAUSED execution can be restarted"
        )
    handlers = _handler_task_ids(flow)
    failed = [
        r
        for r in state.task_runs.values()
        if r.state in {"FAILED", "KILLED"} and r.task_id not in handlers
    ]
    if not failed:
        raise InvalidCommandError("no failed task run to restart")
    targets: list[str] = []
    for run in failed:
        current: TaskRunState | None = run
        while current is not None and current.id not in targets:
            targets.append(current.id)
            current = (
                state.task_runs.get(current.parent_id) if current.parent_id else None
            )
    removed = [r.id for r in state.task_runs.values() if r.task_id in handlers]
    return ExecutionRestarted(
        by=by,
        task_run_ids=targets,
        attempt_number=state.attempt_number + 1,
        removed_task_run_ids=removed,
    )


def replay_events(
    flow: Flow,
    original: Sequence[RecordedEvent],
    task_id: str,
    *,
    new_id: str,
    by: str,
    inputs: dict[str, object],
) -> list[BaseEvent]:
    """Events of a new execution replaying `original` from `task_id` on."""
    if flow.task(task_id) is None:
        raise InvalidCommandError(
            f"flow {flow.namespace}/{flow.id} has no task {task_id!r}"
        )
    cut = next(
        (
            i
            for i, e in enumerate(original)
            if isinstance(e.event, TaskRunCreated) and e.event.task_id == task_id
        ),
        None,
    )
    if cut is None:
        raise InvalidCommandError(f"task {task_id!r} never ran in this execution")
    before = fold(original[:cut])
    target = original[cut].event
    assert isinstance(target, TaskRunCreated)
    ancestors: list[TaskRunState] = []
    parent_id = target.parent_task_run_id
    while parent_id is not None:
        parent = before.task_runs[parent_id]
        ancestors.append(parent)
        parent_id = parent.parent_id
    created = ExecutionCreated(
        execution_id=new_id,
        namespace=flow.namespace,
        flow_id=flow.id,
        flow_revision=flow.revision,
        inputs=dict(inputs),
        labels=dict(before.labels),
        trigger=before.trigger,
        origin=ReplayOrigin(execution_id=before.id, task_id=task_id, by=by),
    )
    events: list[BaseEvent] = [created]
    keep = {a.id for a in ancestors}
    for run in before.task_runs.values():
        if not run.settled and run.id not in keep:
            continue  # it was still running at the cut: decide creates it again
        events.append(
            TaskRunCreated(
                task_run_id=run.id,
                task_id=run.task_id,
                parent_task_run_id=run.parent_id,
                value=run.value,
                iteration=run.iteration,
            )
        )
        if run.decision or run.id in keep:
            events.append(
                TaskRunStarted(
                    task_run_id=run.id,
                    attempt=run.attempt,
                    worker="replay",
                    outputs=dict(run.decision),
                )
            )
        if run.settled:
            events.append(
                TaskRunEnded(
                    task_run_id=run.id,
                    state=state_name(run.state),
                    outputs=dict(run.outputs),
                    message=run.message,
                )
            )
    return events
