"""The facts sluice records: every event type, and the envelope around a stored event.

Events are past-tense facts (`TaskRunSucceeded`), frozen `msgspec.Struct`s tagged with
their type name; `Event` is their union. Stored names are permanent: evolve an event with
optional fields or an upcaster (see `sluice.eventstore.codec`), never by renaming it.

Streams:
    ``execution/<id>``                  everything that happens to one execution
    ``flow/<namespace>/<flow_id>``      deployments (revisions) of one flow
    ``trigger/<namespace>/<flow_id>/<trigger_id>``  fires, cursors and failures
    ``audit``                           operator reads that change nothing (replay views)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal, TypeAlias

import msgspec

JsonValue: TypeAlias = Any
"""Any JSON-encodable value. The only place `Any` is used in sluice's own types."""

ExecutionStateName = Literal[
    "CREATED",
    "QUEUED",
    "RUNNING",
    "PAUSED",
    "SUCCESS",
    "WARNING",
    "FAILED",
    "KILLING",
    "KILLED",
    "CANCELLED",
    "RETRYING",
    "SKIPPED",
]


class BaseEvent(
    msgspec.Struct, frozen=True, tag=True, kw_only=True, omit_defaults=True
):
    """Common base of every event; the tag (`type`) is the class name."""

    schema_version: ClassVar[int] = 1


# --- flows -------------------------------------------------------------------------


class FlowDeployed(BaseEvent, frozen=True, kw_only=True):
    """A flow revision was deployed; `source` is the YAML as written."""

    namespace: str
    flow_id: str
    revision: int
    source: str
    checksum: str


# --- executions --------------------------------------------------------------------


class ParentRef(msgspec.Struct, frozen=True, kw_only=True):
    """The task run of a parent execution that started this one (Subflow)."""

    execution_id: str
    task_run_id: str


class ReplayOrigin(msgspec.Struct, frozen=True, kw_only=True):
    """Where a replayed execution came from."""

    execution_id: str
    task_id: str | None = None
    by: str | None = None


class ExecutionCreated(BaseEvent, frozen=True, kw_only=True):
    """An execution of a flow revision was created with validated inputs."""

    execution_id: str
    namespace: str
    flow_id: str
    flow_revision: int
    inputs: dict[str, JsonValue] = {}
    labels: dict[str, str] = {}
    trigger: dict[str, JsonValue] | None = None
    parent: ParentRef | None = None
    origin: ReplayOrigin | None = None
    schedule_date: datetime | None = None


class ExecutionQueued(BaseEvent, frozen=True, kw_only=True):
    """The flow's concurrency limit was reached; the execution waits for a slot."""

    reason: str = ""


class ExecutionStarted(BaseEvent, frozen=True, kw_only=True):
    """The execution began running (it holds a concurrency slot from here)."""


class ExecutionPaused(BaseEvent, frozen=True, kw_only=True):
    """A Pause task run paused the execution, until `resume_due` or a manual resume."""

    task_run_id: str
    resume_due: datetime | None = None
    behavior: Literal["RESUME", "WARN", "FAIL", "CANCEL"] = "RESUME"


class ExecutionResumed(BaseEvent, frozen=True, kw_only=True):
    """A paused execution was resumed, by a person (`by`) or by the pause timing out."""

    task_run_id: str
    by: str
    inputs: dict[str, JsonValue] = {}
    timed_out: bool = False


class ExecutionKillRequested(BaseEvent, frozen=True, kw_only=True):
    """Somebody asked to kill the execution; it goes KILLING, then KILLED."""

    by: str


class ExecutionRestarted(BaseEvent, frozen=True, kw_only=True):
    """Failed task runs (and their parents) were reset to run again as a new attempt."""

    by: str
    task_run_ids: list[str]
    attempt_number: int
    removed_task_run_ids: list[str] = []


class ExecutionEnded(BaseEvent, frozen=True, kw_only=True):
    """The execution reached a terminal state."""

    state: ExecutionStateName
    outputs: dict[str, JsonValue] = {}
    reason: str = ""


# --- task runs ---------------------------------------------------------------------


class TaskRunCreated(BaseEvent, frozen=True, kw_only=True):
    """A task run exists; a runnable one is also put on the work queue (attempt 1)."""

    task_run_id: str
    task_id: str
    parent_task_run_id: str | None = None
    value: JsonValue = None
    iteration: int | None = None
    queued: bool = False


class TaskRunStarted(BaseEvent, frozen=True, kw_only=True):
    """A worker (or the scheduler, for a flowable task) began an attempt."""

    task_run_id: str
    attempt: int = 1
    worker: str = ""
    outputs: dict[str, JsonValue] = {}


class TaskRunWaiting(BaseEvent, frozen=True, kw_only=True):
    """The attempt waits durably: at `due` it is dispatched again with `checkpoint`."""

    task_run_id: str
    attempt: int
    checkpoint: JsonValue
    due: datetime


class TaskRunSucceeded(BaseEvent, frozen=True, kw_only=True):
    """An attempt ended well; `outputs` has secret values already redacted."""

    task_run_id: str
    attempt: int
    outputs: dict[str, JsonValue] = {}
    state: Literal["SUCCESS", "WARNING"] = "SUCCESS"
    secret_outputs: list[str] = []


class TaskRunFailed(BaseEvent, frozen=True, kw_only=True):
    """An attempt failed; the scheduler then retries it or settles the task run."""

    task_run_id: str
    attempt: int
    error_type: str
    message: str
    retryable: bool | None = None


class TaskRunRetryScheduled(BaseEvent, frozen=True, kw_only=True):
    """The retry policy allows another attempt, due at `due`."""

    task_run_id: str
    attempt: int
    due: datetime


class TaskRunDispatched(BaseEvent, frozen=True, kw_only=True):
    """An attempt (a retry, a restart, or a durable wait that came due) was queued."""

    task_run_id: str
    attempt: int


class TaskRunSkipped(BaseEvent, frozen=True, kw_only=True):
    """`runIf` was false or the task is disabled: the task run did not run."""

    task_run_id: str
    reason: str = ""


class SubflowExecutionEnded(BaseEvent, frozen=True, kw_only=True):
    """A child execution started by this execution's Subflow task run ended."""

    task_run_id: str
    execution_id: str
    state: ExecutionStateName
    outputs: dict[str, JsonValue] = {}


class TaskRunEnded(BaseEvent, frozen=True, kw_only=True):
    """The scheduler settled a task run: a flowable's result, a final failure, a kill."""

    task_run_id: str
    state: ExecutionStateName
    outputs: dict[str, JsonValue] = {}
    message: str = ""


# --- triggers ----------------------------------------------------------------------


class TriggerFired(BaseEvent, frozen=True, kw_only=True):
    """A trigger fired and created `execution_id` (same transaction as its creation)."""

    trigger_id: str
    namespace: str
    flow_id: str
    execution_id: str
    variables: dict[str, JsonValue] = {}
    scheduled_for: datetime | None = None


class TriggerCursorAdvanced(BaseEvent, frozen=True, kw_only=True):
    """A polling trigger's remembered state moved on (where to list from, what it saw)."""

    trigger_id: str
    cursor: JsonValue


class TriggerEvaluationFailed(BaseEvent, frozen=True, kw_only=True):
    """A poll or schedule evaluation failed; the server keeps running."""

    trigger_id: str
    error_type: str
    message: str


class TriggerActionCompleted(BaseEvent, frozen=True, kw_only=True):
    """The post-fire action (MOVE/DELETE of the source object) was done."""

    trigger_id: str
    execution_id: str
    action: str
    detail: dict[str, JsonValue] = {}


# --- operator actions that change no execution ------------------------------------


class OperatorActionRecorded(BaseEvent, frozen=True, kw_only=True):
    """An operator command was run (a replay view, a projection rebuild, a query that
    must be audited). Actions that change an execution are audited by their own events
    (ExecutionResumed, ExecutionKillRequested, …), whose `actor` says who."""

    action: str
    execution_id: str | None = None
    detail: dict[str, JsonValue] = {}
    address: str | None = None


Event = (
    FlowDeployed
    | ExecutionCreated
    | ExecutionQueued
    | ExecutionStarted
    | ExecutionPaused
    | ExecutionResumed
    | ExecutionKillRequested
    | ExecutionRestarted
    | ExecutionEnded
    | TaskRunCreated
    | TaskRunStarted
    | TaskRunWaiting
    | TaskRunSucceeded
    | TaskRunFailed
    | TaskRunRetryScheduled
    | TaskRunDispatched
    | TaskRunSkipped
    | TaskRunEnded
    | SubflowExecutionEnded
    | TriggerFired
    | TriggerCursorAdvanced
    | TriggerEvaluationFailed
    | TriggerActionCompleted
    | OperatorActionRecorded
)
"""Every event type sluice stores. Add new types here (and to the fold)."""

EVENT_TYPES: dict[str, type[BaseEvent]] = {
    cls.__name__: cls for cls in BaseEvent.__subclasses__()
}


def event_type(event: BaseEvent) -> str:
    """The stored `type` of an event: its class name."""
    return type(event).__name__


# --- the envelope ------------------------------------------------------------------


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event about to be appended, with who caused it and why."""

    event: Event
    actor: str
    causation_id: str | None = None
    correlation_id: str | None = None
    idempotency_key: str | None = None


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as stored: its place in the log and its stream, and its hash chain."""

    position: int
    stream: str
    version: int
    event: Event
    actor: str
    recorded_at: datetime
    schema_version: int = 1
    causation_id: str | None = None
    correlation_id: str | None = None
    idempotency_key: str | None = None
    prev_hash: str | None = None
    hash: str = ""

    @property
    def type(self) -> str:
        """The event's stored type name."""
        return event_type(self.event)
