"""The `task_runs` view: one row per task run, for `sluice executions show`.

Each rule mirrors `sluice.core.state.apply` for task runs: a late report from a
superseded attempt changes nothing.
Outputs are kept as a summary (JSON cut to a few kB); the log has them in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from sluice.core.events import (
    ExecutionPaused,
    ExecutionRestarted,
    ExecutionResumed,
    JsonValue,
    RecordedEvent,
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
)
from sluice.projections._rows import Row, Rows
from sluice.projections._schema import (
    JSON_TYPE,
    METADATA,
    Projection,
    Tables,
    UtcDateTime,
    by_execution,
    pk_name,
    summary,
)

TASK_RUNS = sa.Table(
    "task_runs",
    METADATA,
    sa.Column("execution_id", sa.String(64), nullable=False),
    sa.Column("task_run_id", sa.String(255), nullable=False),
    sa.Column("task_id", sa.String(255), nullable=False),
    sa.Column("parent_task_run_id", sa.String(255)),
    sa.Column("value", JSON_TYPE),
    sa.Column("iteration", sa.Integer),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("settled", sa.Boolean, nullable=False),
    sa.Column("created_position", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("worker", sa.String(255)),
    sa.Column("outputs", sa.Text),
    sa.Column("error_type", sa.String(255)),
    sa.Column("message", sa.Text),
    sa.Column("child_execution_id", sa.String(64)),
    # `show` reads one execution's task runs: the primary key's prefix serves it.
    sa.PrimaryKeyConstraint("execution_id", "task_run_id", name=pk_name("task_runs")),
)


def apply(events: Sequence[RecordedEvent], conn: sa.Connection, tables: Tables) -> None:
    """Write the effect of a batch of events on the task runs of their executions."""
    table = tables["task_runs"]
    rows = Rows(conn, table)
    touched = by_execution(events)
    if touched:
        rows.load(
            table.c.execution_id.in_({execution_id for execution_id, _ in touched})
        )
    for execution_id, recorded in touched:
        _apply_one(rows, execution_id, recorded)
    rows.flush()


def _apply_one(rows: Rows, execution_id: str, recorded: RecordedEvent) -> None:
    """One event, as `sluice.core.state.apply` changes the task run it names."""
    event, at = recorded.event, recorded.recorded_at
    if isinstance(event, TaskRunCreated):
        rows.add(_created(execution_id, event, recorded))
        return
    if isinstance(event, ExecutionRestarted):
        _restart(rows, execution_id, event)
        return
    run = rows.get(execution_id, getattr(event, "task_run_id", None))
    if run is None:
        return
    current = not run["settled"] and run["state"] in ("RUNNING", "CREATED")
    match event:
        case ExecutionPaused():
            run["state"] = "PAUSED"
        case ExecutionResumed() if not run["settled"]:
            resumed = {
                "by": event.by,
                "on": at.isoformat(),
                "timedOut": event.timed_out,
            }
            _settle(
                run, "SUCCESS", at, {"onResume": dict(event.inputs), "resumed": resumed}
            )
        case SubflowExecutionEnded():
            run["child_execution_id"] = event.execution_id
        case TaskRunStarted() if (
            not run["settled"] and run["attempts"] == event.attempt
        ):
            run["state"], run["worker"] = "RUNNING", event.worker
            run["started_at"] = run["started_at"] or at
        case TaskRunWaiting() if current and run["attempts"] == event.attempt:
            run["state"] = "RUNNING"
        case TaskRunSucceeded() if current and run["attempts"] == event.attempt:
            _settle(run, event.state, at, event.outputs)
        case TaskRunFailed() if current and run["attempts"] == event.attempt:
            run.update(
                state="FAILED", error_type=event.error_type, message=event.message
            )
        case TaskRunRetryScheduled():
            run["state"], run["attempts"] = "RETRYING", event.attempt
        case TaskRunDispatched() if run["state"] == "RETRYING":
            run["state"] = "CREATED"
        case TaskRunSkipped():
            _settle(run, "SKIPPED", at, None)
            run["message"] = event.reason
        case TaskRunEnded():
            _settle(run, event.state, at, event.outputs or None)
            run["message"] = event.message or run["message"]


def _settle(
    run: Row, state: str, at: datetime, outputs: dict[str, JsonValue] | None
) -> None:
    run.update(state=state, settled=True, ended_at=at)
    if outputs is not None:
        run["outputs"] = summary(outputs)


def _created(execution_id: str, event: TaskRunCreated, recorded: RecordedEvent) -> Row:
    return {
        "execution_id": execution_id,
        "task_run_id": event.task_run_id,
        "task_id": event.task_id,
        "parent_task_run_id": event.parent_task_run_id,
        "value": event.value,
        "iteration": event.iteration,
        "state": "CREATED",
        "attempts": 1,
        "settled": False,
        "created_position": recorded.position,
        "created_at": recorded.recorded_at,
    }


def _restart(rows: Rows, execution_id: str, event: ExecutionRestarted) -> None:
    for run_id in event.removed_task_run_ids:
        rows.delete(execution_id, run_id)
    for run_id in event.task_run_ids:
        run = rows.get(execution_id, run_id)
        if run is not None:
            run.update(settled=False, ended_at=None, state="CREATED", message=None,
                       error_type=None, attempts=run["attempts"] + 1)  # fmt: skip


PROJECTION = Projection(name="task_runs", tables=(TASK_RUNS,), apply=apply)
