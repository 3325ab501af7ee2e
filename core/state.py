"""Execution state as a fold of its events.

`fold(events)` is pure: the same events always give the same state. `apply(state, event)`
updates a state in place and returns it: the fold runs over millions of events, and
copying every task run per event would make a long execution quadratic. Callers that
need to keep a state unchanged (the decider's scratch copy) call `state.copy()`.

Results that arrive late are ignored, not errors: a worker whose attempt was timed out,
killed or superseded by a retry may still report, and the log keeps its report, but the
state does not move backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import assert_never

from sluice.core.events import (
    ExecutionCreated,
    ExecutionEnded,
    ExecutionKillRequested,
    ExecutionPaused,
    ExecutionQueued,
    ExecutionRestarted,
    ExecutionResumed,
    ExecutionStarted,
    ExecutionStateName,
    FlowDeployed,
    JsonValue,
    OperatorActionRecorded,
    ParentRef,
    RecordedEvent,
    ReplayOrigin,
    SubflowExecutionEnded,
    TaskRunCreated,
    TaskRunDispatched,
    TaskRunEnded,
    TaskRunFailed,
    TaskRunRetryScheduled,
    TaskRunSkipped,
    TaskRunStarted,
    TaskRunSucceeded,
    TaskRunWaiting,
    TriggerActionCompleted,
    TriggerCursorAdvanced,
    TriggerEvaluationFailed,
    TriggerFired,
)

TERMINAL: frozenset[str] = frozenset(
    {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED"}
)
OK_STATES: frozenset[str] = frozenset({"SUCCESS", "WARNING", "SKIPPED"})


@dataclass
class Attempt:
    """One attempt of a task run."""

    number: int
    state: str = "CREATED"
    started: datetime | None = None
    ended: datetime | None = None
    worker: str = ""
    error: str = ""


@dataclass
class TaskRunState:
    """A task run as folded from its events."""

    id: str
    task_id: str
    parent_id: str | None
    value: JsonValue
    iteration: int | None
    created: datetime
    state: str = "CREATED"
    attempt: int = 1
    attempts: list[Attempt] = field(default_factory=list)
    outputs: dict[str, JsonValue] = field(default_factory=dict)
    decision: dict[str, JsonValue] = field(default_factory=dict)
    secret_outputs: list[str] = field(default_factory=list)
    started: datetime | None = None
    ended: datetime | None = None
    due: datetime | None = None
    checkpoint: JsonValue = None
    settled: bool = False
    error_type: str = ""
    message: str = ""
    retryable: bool | None = None
    child_execution: str | None = None
    dispatched: int = 0

    @property
    def terminal(self) -> bool:
        """Ended for good: the scheduler will not run it again unless restarted."""
        return self.settled

    def copy(self) -> TaskRunState:
        """An independent copy."""
        return replace(self, attempts=[replace(a) for a in self.attempts])


@dataclass
class ExecutionState:
    """An execution as folded from its events."""

    id: str = ""
    namespace: str = ""
    flow_id: str = ""
    flow_revision: int = 0
    state: str = "CREATED"
    version: int = 0
    inputs: dict[str, JsonValue] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    trigger: dict[str, JsonValue] | None = None
    parent: ParentRef | None = None
    origin: ReplayOrigin | None = None
    schedule_date: datetime | None = None
    created: datetime | None = None
    started: datetime | None = None
    ended: datetime | None = None
    task_runs: dict[str, TaskRunState] = field(default_factory=dict)
    paused_task_run: str | None = None
    resume_due: datetime | None = None
    pause_behavior: str = "RESUME"
    kill_requested_by: str | None = None
    outputs: dict[str, JsonValue] = field(default_factory=dict)
    reason: str = ""
    attempt_number: int = 1
    histories: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        """Whether the execution has ended."""
        return self.state in TERMINAL

    def copy(self) -> ExecutionState:
        """An independent copy (task runs copied too)."""
        return replace(
            self,
            task_runs={k: v.copy() for k, v in self.task_runs.items()},
            histories=list(self.histories),
            inputs=dict(self.inputs),
            outputs=dict(self.outputs),
        )

    def set_state(self, state: str, at: datetime) -> None:
        """Change state, keeping the history."""
        if state != self.state:
            self.state = state
            self.histories.append((state, at))


def fold(events: Iterable[RecordedEvent]) -> ExecutionState:
    """The state of an execution after `events` (its stream, in version order)."""
    state = ExecutionState()
    for event in events:
        apply(state, event)
    return state


def apply(state: ExecutionState, recorded: RecordedEvent) -> ExecutionState:
    """Apply one recorded event to `state` (in place) and return it."""
    event, at = recorded.event, recorded.recorded_at
    state.version = recorded.version
    match event:
        case ExecutionCreated():
            state.id, state.namespace, state.flow_id = (
                event.execution_id,
                event.namespace,
                event.flow_id,
            )
            state.flow_revision, state.inputs = event.flow_revision, dict(event.inputs)
            state.labels, state.trigger = dict(event.labels), event.trigger
            state.parent, state.origin = event.parent, event.origin
            state.schedule_date, state.created = event.schedule_date, at
            state.histories.append(("CREATED", at))
        case ExecutionQueued():
            state.set_state("QUEUED", at)
        case ExecutionStarted():
            state.started = state.started or at
            state.set_state("RUNNING", at)
        case ExecutionPaused():
            state.paused_task_run, state.resume_due = (
                event.task_run_id,
                event.resume_due,
            )
            state.pause_behavior = event.behavior
            run = state.task_runs.get(event.task_run_id)
            if run:
                run.state = "PAUSED"
            state.set_state("PAUSED", at)
        case ExecutionResumed():
            _resume(state, event, at)
        case ExecutionKillRequested():
            if not state.terminal:
                state.kill_requested_by = event.by
                state.set_state("KILLING", at)
        case ExecutionRestarted():
            _restart(state, event, at)
        case ExecutionEnded():
            state.outputs, state.reason, state.ended = (
                dict(event.outputs),
                event.reason,
                at,
            )
            state.paused_task_run = None
            state.set_state(event.state, at)
        case TaskRunCreated():
            state.task_runs[event.task_run_id] = TaskRunState(
                id=event.task_run_id,
                task_id=event.task_id,
                parent_id=event.parent_task_run_id,
                value=event.value,
                iteration=event.iteration,
                created=at,
                attempts=[Attempt(1)],
                dispatched=1 if event.queued else 0,
            )
        case TaskRunStarted():
            run = state.task_runs[event.task_run_id]
            if run.settled or event.attempt != run.attempt:
                return state
            run.state, run.started = "RUNNING", run.started or at
            run.due = None
            attempt = run.attempts[-1]
            attempt.state, attempt.worker = "RUNNING", event.worker
            attempt.started = attempt.started or at
            if event.outputs:
                run.decision = dict(event.outputs)
        case TaskRunWaiting():
            run = state.task_runs[event.task_run_id]
            if _current(run, event.attempt):
                run.checkpoint, run.due, run.state = (
                    event.checkpoint,
                    event.due,
                    "RUNNING",
                )
                run.attempts[-1].state = "WAITING"
        case TaskRunSucceeded():
            run = state.task_runs[event.task_run_id]
            if _current(run, event.attempt):
                run.outputs, run.secret_outputs = (
                    dict(event.outputs),
                    list(event.secret_outputs),
                )
                _settle(run, event.state, at)
        case TaskRunFailed():
            run = state.task_runs[event.task_run_id]
            if _current(run, event.attempt):
                run.state, run.due = "FAILED", None
                run.error_type, run.message, run.retryable = (
                    event.error_type,
                    event.message,
                    event.retryable,
                )
                run.attempts[-1].state, run.attempts[-1].ended = "FAILED", at
                run.attempts[-1].error = event.message
        case TaskRunRetryScheduled():
            run = state.task_runs[event.task_run_id]
            run.state, run.due, run.attempt = "RETRYING", event.due, event.attempt
            run.checkpoint = None
            run.attempts.append(Attempt(event.attempt))
        case TaskRunDispatched():
            run = state.task_runs[event.task_run_id]
            run.due, run.dispatched = None, event.attempt
            if run.state == "RETRYING":
                run.state = "CREATED"
        case TaskRunSkipped():
            run = state.task_runs[event.task_run_id]
            run.message = event.reason
            _settle(run, "SKIPPED", at)
        case TaskRunEnded():
            run = state.task_runs[event.task_run_id]
            if event.outputs:
                run.outputs = dict(event.outputs)
            if event.message:
                run.message = event.message
            _settle(run, event.state, at)
        case SubflowExecutionEnded():
            run = state.task_runs[event.task_run_id]
            run.child_execution = event.execution_id
            run.decision = {
                **run.decision,
                "childState": event.state,
                "childOutputs": dict(event.outputs),
            }
        case (
            FlowDeployed()
            | TriggerFired()
            | TriggerCursorAdvanced()
            | TriggerEvaluationFailed()
            | TriggerActionCompleted()
            | OperatorActionRecorded()
        ):
            pass
        case _:
            assert_never(event)
    return state


def _current(run: TaskRunState, attempt: int) -> bool:
    return (
        not run.settled
        and attempt == run.attempt
        and run.state in {"RUNNING", "CREATED"}
    )


def _settle(run: TaskRunState, final: str, at: datetime) -> None:
    run.state, run.settled, run.ended, run.due = final, True, at, None
    if run.attempts:
        run.attempts[-1].state = final
        run.attempts[-1].ended = run.attempts[-1].ended or at


def _resume(state: ExecutionState, event: ExecutionResumed, at: datetime) -> None:
    run = state.task_runs.get(event.task_run_id)
    if run is not None and not run.settled:
        run.outputs = {
            "onResume": dict(event.inputs),
            "resumed": {
                "by": event.by,
                "on": at.isoformat(),
                "timedOut": event.timed_out,
            },
        }
        _settle(run, "SUCCESS", at)
    state.paused_task_run, state.resume_due = None, None
    if state.state == "PAUSED":
        state.set_state("RUNNING", at)


def _restart(state: ExecutionState, event: ExecutionRestarted, at: datetime) -> None:
    state.attempt_number = event.attempt_number
    state.ended, state.outputs, state.reason, state.kill_requested_by = (
        None,
        {},
        "",
        None,
    )
    for run_id in event.removed_task_run_ids:
        state.task_runs.pop(run_id, None)
    for run_id in event.task_run_ids:
        run = state.task_runs.get(run_id)
        if run is None:
            continue
        run.settled, run.ended, run.due, run.checkpoint = False, None, None, None
        run.state, run.message, run.error_type = "CREATED", "", ""
        if "executionId" in run.decision:  # a Subflow restarts with a new child
            run.decision = {}
        run.attempt += 1
        run.attempts.append(Attempt(run.attempt))
    state.set_state("RUNNING", at)


def state_name(value: str) -> ExecutionStateName:
    """Narrow a state string to the event literal type (for events built from state)."""
    return value  # type: ignore[return-value]
