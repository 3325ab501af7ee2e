"""What happens next in an execution: a pure function of the flow, the state and the time.

`decide` walks the flow's task tree against the folded state and returns the events to
append (task runs to create, retries to schedule, flowables to settle, the end of the
execution), the work items to enqueue in the same transaction, events for other streams
(a Subflow's child execution, a parent's notification) and when to look again (the next
timer). Each decided event is applied at once to a scratch copy of the state, so one
walk sees the consequences of its own decisions; the caller's state is never touched.

Statuses of a scope: RUNNING (something is still to happen), SUCCESS, WARNING, FAILED.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sluice.core.errors import InputError, OrchestratorError
from sluice.core.events import (
    BaseEvent,
    ExecutionCreated,
    ExecutionEnded,
    ExecutionPaused,
    ExecutionQueued,
    ExecutionResumed,
    ExecutionStarted,
    JsonValue,
    NewEvent,
    ParentRef,
    RecordedEvent,
    SubflowExecutionEnded,
    TaskRunCreated,
    TaskRunDispatched,
    TaskRunEnded,
    TaskRunFailed,
    TaskRunRetryScheduled,
    TaskRunSkipped,
    TaskRunStarted,
)
from sluice.core.expressions import truthy
from sluice.core.flow import Flow, TaskDef
from sluice.core.inputs import validate_inputs
from sluice.core.ports import ANY_VERSION, StreamAppend, WorkItem
from sluice.core.state import ExecutionState, TaskRunState, apply, state_name

RUNNING, SUCCESS, WARNING, FAILED = "RUNNING", "SUCCESS", "WARNING", "FAILED"
ACTOR = "scheduler"


class Evaluator(Protocol):
    """What decide needs from outside: rendering, child flows, ids."""

    def render(
        self,
        value: JsonValue,
        flow: Flow,
        state: ExecutionState,
        *,
        run: TaskRunState | None = None,
        loop_value: JsonValue = None,
        iteration: int | None = None,
    ) -> JsonValue:
        """Render `value` in the context of the execution (and task run, or loop value)."""
        ...

    def child_flow(self, namespace: str, flow_id: str) -> Flow | None:
        """The latest revision of a flow, for Subflow."""
        ...


@dataclass
class Decision:
    """The outcome of one decide: events, work items, other streams, next timer."""

    events: list[BaseEvent] = field(default_factory=list)
    work: list[WorkItem] = field(default_factory=list)
    others: list[StreamAppend] = field(default_factory=list)
    next_due: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.events or self.others)


def execution_stream(execution_id: str) -> str:
    """The stream of one execution."""
    return f"execution/{execution_id}"


def child_execution_id(execution_id: str, task_run_id: str, attempt: int) -> str:
    """A deterministic id for a Subflow's child (the same decision gives the same id)."""
    return f"{execution_id}.{task_run_id}.{attempt}".replace("[", "_").replace("]", "")


def decide(
    flow: Flow,
    state: ExecutionState,
    now: datetime,
    evaluator: Evaluator,
    *,
    running_count: int = 0,
) -> Decision:
    """Decide what happens next. `running_count`: other running executions of the flow."""
    return _Decider(flow, state, now, evaluator).run(running_count)


class _Decider:
    def __init__(
        self, flow: Flow, state: ExecutionState, now: datetime, ev: Evaluator
    ) -> None:
        self.flow, self.state, self.now, self.ev = flow, state.copy(), now, ev
        self.out = Decision()

    # --- plumbing ----------------------------------------------------------------

    def emit(self, event: BaseEvent) -> None:
        self.out.events.append(event)
        recorded = RecordedEvent(
            position=0,
            stream="",
            version=self.state.version + 1,
            event=event,  # type: ignore[arg-type]
            actor=ACTOR,
            recorded_at=self.now,
        )
        apply(self.state, recorded)

    def due(self, when: datetime | None) -> None:
        if when is not None and (self.out.next_due is None or when < self.out.next_due):
            self.out.next_due = when

    def enqueue(self, run: TaskRunState) -> None:
        self.out.work.append(
            WorkItem(
                key=f"{self.state.id}:{run.id}:{run.attempt}:{self.state.version}",
                execution_id=self.state.id,
                task_run_id=run.id,
                attempt=run.attempt,
            )
        )

    def render(
        self,
        value: JsonValue,
        run: TaskRunState | None = None,
        loop_value: JsonValue = None,
        iteration: int | None = None,
    ) -> JsonValue:
        return self.ev.render(
            value,
            self.flow,
            self.state,
            run=run,
            loop_value=loop_value,
            iteration=iteration,
        )

    # --- the execution -----------------------------------------------------------

    def run(self, running_count: int) -> Decision:
        s = self.state
        if s.terminal:
            return self.out
        if s.state in {"CREATED", "QUEUED"} and not self.start(running_count):
            return self.out
        if s.state == "KILLING":
            self.kill()
            return self.out
        if s.state == "PAUSED" and not self.pause_timeout():
            return self.out
        status = self.scope(
            self.flow.tasks,
            self.flow.errors,
            self.flow.finally_tasks,
            None,
            "",
            None,
            None,
        )
        if status != RUNNING and self.state.state == "RUNNING":
            self.end(status)
        return self.out

    def start(self, running_count: int) -> bool:
        s = self.state
        if s.schedule_date and s.schedule_date > self.now:
            self.due(s.schedule_date)
            return False
        limit = self.flow.concurrency
        if limit and running_count >= limit.limit:
            if limit.behavior == "QUEUE":
                if s.state != "QUEUED":
                    self.emit(
                        ExecutionQueued(
                            reason=f"concurrency limit {limit.limit} reached"
                        )
                    )
                return False
            final = "CANCELLED" if limit.behavior == "CANCEL" else "FAILED"
            self.finish(final, {}, f"concurrency limit {limit.limit} reached")
            return False
        self.emit(ExecutionStarted())
        return True

    def pause_timeout(self) -> bool:
        s = self.state
        if s.resume_due is None or s.resume_due > self.now or s.paused_task_run is None:
            self.due(s.resume_due)
            return False
        run_id, behavior = s.paused_task_run, s.pause_behavior
        if behavior == "CANCEL":
            self.finish("CANCELLED", {}, "pause timed out (behavior CANCEL)")
            return False
        self.emit(
            ExecutionResumed(task_run_id=run_id, by="system:timeout", timed_out=True)
        )
        if behavior in {"WARN", "FAIL"}:
            final = WARNING if behavior == "WARN" else FAILED
            self.emit(
                TaskRunEnded(
                    task_run_id=run_id,
                    state=final,
                    outputs=s.task_runs[run_id].outputs,
                    message=f"pause timed out (behavior {behavior})",
                )
            )
        return True

    def kill(self) -> None:
        for run in list(self.state.task_runs.values()):
            if not run.settled:
                self.emit(
                    TaskRunEnded(
                        task_run_id=run.id,
                        state="KILLED",
                        message=f"killed by {self.state.kill_requested_by}",
                    )
                )
        self.finish("KILLED", {}, f"killed by {self.state.kill_requested_by}")

    def end(self, status: str) -> None:
        outputs: dict[str, JsonValue] = {}
        reason = ""
        for output in self.flow.outputs:
            try:
                outputs[output.id] = self.render(output.value)
            except OrchestratorError as err:
                status, reason = FAILED, f"flow output {output.id!r}: {err}"
        if status == FAILED and not reason:
            # The innermost failure says why: a flowable parent has no message.
            reason = next(
                (
                    f"task {r.task_id!r} failed: {r.message}"
                    for r in self.state.task_runs.values()
                    if r.state == "FAILED" and r.message
                ),
                "",
            )
        self.finish(status, outputs, reason)

    def finish(self, final: str, outputs: dict[str, JsonValue], reason: str) -> None:
        for run in list(self.state.task_runs.values()):
            if not run.settled:  # e.g. a Pause whose timeout cancelled the execution
                self.emit(
                    TaskRunEnded(
                        task_run_id=run.id, state=state_name(final), message=reason
                    )
                )
        self.emit(
            ExecutionEnded(state=state_name(final), outputs=outputs, reason=reason)
        )
        parent = self.state.parent
        if parent is not None:
            note = SubflowExecutionEnded(
                task_run_id=parent.task_run_id,
                execution_id=self.state.id,
                state=state_name(final),
                outputs=outputs,
            )
            self.out.others.append(
                StreamAppend(
                    stream=execution_stream(parent.execution_id),
                    events=[
                        NewEvent(
                            event=note, actor=ACTOR, correlation_id=parent.execution_id
                        )
                    ],
                    expected_version=ANY_VERSION,
                )
            )

    # --- scopes and lists --------------------------------------------------------

    def scope(
        self,
        tasks: Sequence[TaskDef],
        errors: Sequence[TaskDef],
        finally_tasks: Sequence[TaskDef],
        parent: str | None,
        suffix: str,
        value: JsonValue,
        iteration: int | None,
    ) -> str:
        main = self.seq(tasks, parent, suffix, value, iteration)
        if main == RUNNING:
            return RUNNING
        return self.handle(
            main, errors, finally_tasks, parent, suffix, value, iteration
        )

    def handle(
        self,
        main: str,
        errors: Sequence[TaskDef],
        finally_tasks: Sequence[TaskDef],
        parent: str | None,
        suffix: str,
        value: JsonValue,
        iteration: int | None,
    ) -> str:
        """After a scope's main tasks ended: `errors` if they failed, then `finally`
        (whose failure fails the scope). A handled failure still fails the scope."""
        if (
            main == FAILED
            and errors
            and self.seq(errors, parent, suffix, value, iteration) == RUNNING
        ):
            return RUNNING
        if not finally_tasks:
            return main
        done = self.seq(finally_tasks, parent, suffix, value, iteration)
        if done == RUNNING:
            return RUNNING
        return FAILED if done == FAILED else main

    def seq(
        self,
        tasks: Sequence[TaskDef],
        parent: str | None,
        suffix: str,
        value: JsonValue,
        iteration: int | None,
    ) -> str:
        worst = SUCCESS
        for task in tasks:
            status = self.task(task, parent, suffix, value, iteration)
            if status in {RUNNING, FAILED}:
                return status
            if status == WARNING:
                worst = WARNING
        return worst

    # --- one task ----------------------------------------------------------------

    def task(
        self,
        task: TaskDef,
        parent: str | None,
        suffix: str,
        value: JsonValue,
        iteration: int | None,
    ) -> str:
        run_id = task.id + suffix
        run = self.state.task_runs.get(run_id)
        if run is None:
            if self.state.state != "RUNNING":
                return RUNNING
            run = self.create(task, run_id, parent, value, iteration)
            if run.settled:
                return _status(run.state)
            if not task.flowable:
                return RUNNING
        if run.settled:
            return _status(run.state)
        if task.flowable:
            return self.flowable(task, run, suffix)
        return self.runnable(task, run)

    def create(
        self,
        task: TaskDef,
        run_id: str,
        parent: str | None,
        value: JsonValue,
        iteration: int | None,
    ) -> TaskRunState:
        skip, reason = task.disabled, "disabled"
        failure = ""
        if not skip and task.run_if is not None:
            try:
                skip = not truthy(
                    self.render(task.run_if, loop_value=value, iteration=iteration)
                )
                reason = f"runIf is false: {task.run_if}"
            except OrchestratorError as err:
                failure = f"runIf failed: {err}"
        queued = not (skip or failure or task.flowable)
        self.emit(
            TaskRunCreated(
                task_run_id=run_id,
                task_id=task.id,
                parent_task_run_id=parent,
                value=value,
                iteration=iteration,
                queued=queued,
            )
        )
        run = self.state.task_runs[run_id]
        if failure:
            self.emit(TaskRunEnded(task_run_id=run_id, state="FAILED", message=failure))
        elif skip:
            self.emit(TaskRunSkipped(task_run_id=run_id, reason=reason))
        elif queued:
            self.enqueue(run)
        return run

    def runnable(self, task: TaskDef, run: TaskRunState) -> str:
        if run.state == "FAILED":
            return self.failed(task, run)
        if run.state == "RETRYING" or (
            run.due is not None and run.checkpoint is not None
        ):
            if run.due is not None and run.due > self.now:
                self.due(run.due)
                return RUNNING
            self.emit(TaskRunDispatched(task_run_id=run.id, attempt=run.attempt))
            self.enqueue(run)
            return RUNNING
        if run.state == "CREATED" and run.dispatched < run.attempt:
            self.emit(TaskRunDispatched(task_run_id=run.id, attempt=run.attempt))
            self.enqueue(run)
            return RUNNING
        started = run.attempts[-1].started if run.attempts else None
        if task.timeout and started is not None and run.state == "RUNNING":
            deadline = started + task.timeout
            if deadline <= self.now:
                self.emit(
                    TaskRunFailed(
                        task_run_id=run.id,
                        attempt=run.attempt,
                        error_type="Timeout",
                        message=f"attempt {run.attempt} exceeded its timeout of {task.timeout}",
                        retryable=True,
                    )
                )
                return self.failed(task, run)
            self.due(deadline)
        return RUNNING

    def failed(self, task: TaskDef, run: TaskRunState) -> str:
        policy = task.retry
        if (
            policy is not None
            and run.retryable is not False
            and run.attempt < policy.attempts
        ):
            within = (
                policy.max_duration is None
                or self.now - run.created < policy.max_duration
            )
            if within:
                # Stable across processes (hash() is salted per process): decide is pure.
                seed = f"{self.state.id}:{run.id}:{run.attempt}".encode()
                rand = (zlib.crc32(seed) % 1000) / 1000
                due = self.now + policy.delay(run.attempt, rand)
                self.emit(
                    TaskRunRetryScheduled(
                        task_run_id=run.id, attempt=run.attempt + 1, due=due
                    )
                )
                self.due(due)
                return RUNNING
        final = FAILED
        if task.allow_failure:
            final = SUCCESS if task.allow_warning else WARNING
        self.emit(
            TaskRunEnded(
                task_run_id=run.id, state=state_name(final), message=run.message
            )
        )
        return final

    # --- flowables ---------------------------------------------------------------

    def flowable(self, task: TaskDef, run: TaskRunState, suffix: str) -> str:
        if run.state == "CREATED" and not run.decision:
            try:
                decision = self.begin(task, run)
            except (OrchestratorError, ValueError, TypeError) as err:
                self.emit(
                    TaskRunEnded(
                        task_run_id=run.id,
                        state="FAILED",
                        message=f"{task.type} {task.id!r}: {err}",
                    )
                )
                return FAILED
            self.emit(
                TaskRunStarted(
                    task_run_id=run.id,
                    attempt=run.attempt,
                    worker=ACTOR,
                    outputs=decision,
                )
            )
            if task.type == "core.Pause":
                self.pause(task, run)
                return RUNNING
        handler = getattr(self, "_" + task.type.split(".")[-1].lower())
        status: str = handler(task, run, suffix)
        if status == RUNNING:
            return RUNNING
        if status != RUNNING and not run.settled:
            if status == FAILED and task.allow_failure:
                status = SUCCESS if task.allow_warning else WARNING
            self.emit(
                TaskRunEnded(
                    task_run_id=run.id,
                    state=state_name(status),
                    outputs=_flowable_outputs(task, run),
                )
            )
        return status

    def begin(self, task: TaskDef, run: TaskRunState) -> dict[str, JsonValue]:
        props = task.props
        if task.type == "core.If":
            result = truthy(self.render(props.get("condition"), run=run))
            return {"evaluationResult": result}
        if task.type == "core.Switch":
            return {"value": self.render(props.get("value"), run=run)}
        if task.type == "core.ForEach":
            values = self.render(props.get("values"), run=run)
            if isinstance(values, str):
                values = json.loads(values)
            if not isinstance(values, list):
                raise ValueError(f"values must be a list, got {type(values).__name__}")
            return {"values": values}
        if task.type == "core.Subflow":
            return self.subflow_start(task, run)
        return {"started": True}

    def pause(self, task: TaskDef, run: TaskRunState) -> None:
        duration = task.props.get("pauseDuration") or task.props.get("delay")
        due = None
        if duration is not None:
            from pydantic import TypeAdapter

            due = self.now + TypeAdapter(timedelta).validate_python(
                self.render(duration, run=run)
            )
            self.due(due)
        behavior = str(task.props.get("behavior", "RESUME"))
        self.emit(
            ExecutionPaused(task_run_id=run.id, resume_due=due, behavior=behavior)
        )  # type: ignore[arg-type]

    def _branch(
        self, task: TaskDef, run: TaskRunState, suffix: str, branch: Sequence[TaskDef]
    ) -> str:
        """Run `branch` as the flowable's scope, with the flowable's errors and finally."""
        return self.scope(
            branch,
            task.errors,
            task.finally_tasks,
            run.id,
            suffix,
            run.value,
            run.iteration,
        )

    def _sequential(self, task: TaskDef, run: TaskRunState, suffix: str) -> str:
        return self._branch(task, run, suffix, task.tasks)

    def _if(self, task: TaskDef, run: TaskRunState, suffix: str) -> str:
        chosen = run.decision.get("evaluationResult")
        return self._branch(
            task, run, suffix, task.tasks if chosen else task.else_tasks
        )

    def _switch(self, task: TaskDef, run: TaskRunState, suffix: str) -> str:
        key = _case_key(run.decision.get("value"))
        return self._branch(task, run, suffix, task.cases.get(key, task.else_tasks))

    def _parallel(self, task: TaskDef, run: TaskRunState, suffix: str) -> str:
        limit = int(task.props.get("concurrent", 0) or 0)
        statuses = []
        for child in task.tasks:
            child_run = self.state.task_runs.get(child.id + suffix)
            active = sum(
                1
                for c in task.tasks
                if (r := self.state.task_runs.get(c.id + suffix)) and not r.settled
            )
            if child_run is None and limit and active >= limit:
                statuses.append(RUNNING)
                continue
            statuses.append(self.task(child, run.id, suffix, run.value, run.iteration))
        return self.combine(statuses, task, run, suffix)

    def _foreach(self, task: TaskDef, run: TaskRunState, suffix: str) -> str:
        values: list[JsonValue] = run.decision.get("values") or []
        limit = int(task.props.get("concurrencyLimit", 1) or 0)
        statuses, active, failed = [], 0, False
        for i, item in enumerate(values):
            group = f"{suffix}[{i}]"
            begun = (
                bool(task.tasks) and (task.tasks[0].id + group) in self.state.task_runs
            )
            if not begun and (failed or (limit and active >= limit)):
                statuses.append(RUNNING if not failed else "NOT_STARTED")
                continue
            status = self.seq(task.tasks, run.id, group, item, i)
            statuses.append(status)
            active += status == RUNNING
            failed = failed or status == FAILED
        statuses = [s for s in statuses if s != "NOT_STARTED"]
        return self.combine(statuses, task, run, suffix)

    def combine(
        self, statuses: list[str], task: TaskDef, run: TaskRunState, suffix: str
    ) -> str:
        if RUNNING in statuses:
            return RUNNING
        main = (
            FAILED
            if FAILED in statuses
            else WARNING
            if WARNING in statuses
            else SUCCESS
        )
        return self.handle(
            main,
            task.errors,
            task.finally_tasks,
            run.id,
            suffix,
            run.value,
            run.iteration,
        )

    def _pause(self, task: TaskDef, run: TaskRunState, suffix: str) -> str:
        return RUNNING  # settled by ExecutionResumed (or its timeout), never here

    def subflow_start(self, task: TaskDef, run: TaskRunState) -> dict[str, JsonValue]:
        props = task.props
        namespace = str(self.render(props.get("namespace"), run=run))
        flow_id = str(self.render(props.get("flowId"), run=run))
        child = self.ev.child_flow(namespace, flow_id)
        if child is None:
            raise InputError([f"subflow {namespace}/{flow_id} is not deployed"])
        inputs = validate_inputs(
            child.inputs, self.render(props.get("inputs") or {}, run=run)
        )
        child_id = child_execution_id(self.state.id, run.id, run.attempt)
        schedule = props.get("scheduleDate")
        labels = {
            str(k): str(v)
            for k, v in dict(self.render(props.get("labels") or {}, run=run)).items()
        }
        created = ExecutionCreated(
            execution_id=child_id,
            namespace=namespace,
            flow_id=flow_id,
            flow_revision=child.revision,
            inputs=inputs,
            labels={**child.labels, **labels},
            trigger={
                "type": "core.Subflow",
                "executionId": self.state.id,
                "namespace": self.flow.namespace,
                "flowId": self.flow.id,
            },
            parent=ParentRef(execution_id=self.state.id, task_run_id=run.id),
            schedule_date=_as_datetime(self.render(schedule, run=run))
            if schedule
            else None,
        )
        self.out.others.append(
            StreamAppend(
                stream=execution_stream(child_id),
                events=[
                    NewEvent(
                        event=created,
                        actor=ACTOR,
                        correlation_id=self.state.id,
                        causation_id=self.state.id,
                    )
                ],
                expected_version=0,
            )
        )
        return {"executionId": child_id}

    def _subflow(self, task: TaskDef, run: TaskRunState, suffix: str) -> str:
        wait = task.props.get("wait", True) is not False
        if not wait:
            return SUCCESS
        child_state = run.decision.get("childState")
        if child_state is None:
            return RUNNING
        if child_state in {"SUCCESS", "WARNING"}:
            return str(child_state)
        transmit = task.props.get("transmitFailed", True) is not False
        return FAILED if transmit else WARNING


def _status(state: str) -> str:
    if state in {"SUCCESS", "SKIPPED"}:
        return SUCCESS
    if state == "WARNING":
        return WARNING
    return FAILED


def _case_key(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _flowable_outputs(task: TaskDef, run: TaskRunState) -> dict[str, JsonValue]:
    decision = run.decision
    if task.type == "core.If":
        return {"evaluationResult": decision.get("evaluationResult")}
    if task.type == "core.Switch":
        key = _case_key(decision.get("value"))
        return {"value": decision.get("value"), "defaults": key not in task.cases}
    if task.type == "core.ForEach":
        return {"values": decision.get("values", [])}
    if task.type == "core.Subflow":
        return {
            "executionId": decision.get("executionId"),
            "state": decision.get("childState"),
            "outputs": decision.get("childOutputs", {}),
        }
    return {}
