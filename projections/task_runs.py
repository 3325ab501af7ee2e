"""The `task_runs` view: one row per task run, for `sluice executions show`.

Each rule mirrors `sluice.core.state.apply` for task runs (a late report from a
superseded attempt changes nothing), written as guarded UPDATEs so no row is read.
Outputs are kept as a summary (JSON cut to a few kB); the log has them in full.
"""

from __future__ import annotations

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
from sluice.projections._schema import (
    JSON_TYPE,
    METADATA,
    Projection,
    Tables,
    UtcDateTime,
    pk_name,
    stream_id,
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


def apply(recorded: RecordedEvent, conn: sa.Connection, tables: Tables) -> None:
    """Write the effect of one event on the task runs of its execution."""
    execution_id = stream_id(recorded.stream, "execution")
    if execution_id is None:
        return
    t, event, at = tables["task_runs"], recorded.event, recorded.recorded_at
    in_execution = t.c.execution_id == execution_id
    match event:
        case TaskRunCreated():
            conn.execute(t.insert().values(_created(execution_id, event, recorded)))
            return
        case ExecutionRestarted():
            _restart(conn, t, in_execution, event)
            return
        case (
            ExecutionPaused() | ExecutionResumed() | SubflowExecutionEnded()
            | TaskRunStarted() | TaskRunWaiting() | TaskRunSucceeded() | TaskRunFailed()
            | TaskRunRetryScheduled() | TaskRunDispatched() | TaskRunSkipped()
            | TaskRunEnded()
        ):  # fmt: skip
            found = _update(t, event, at)
        case _:
            return
    if found is not None:
        guard, values = found
        row = in_execution & (t.c.task_run_id == event.task_run_id)
        conn.execute(t.update().where(row & guard).values(values))


Update = tuple[sa.ColumnElement[bool], dict[str, object]]


def _update(t: sa.Table, event: object, at: datetime) -> Update | None:
    """Which rows (guard) an event changes and how, as the fold does."""
    anyway = sa.true()
    current = ~t.c.settled & t.c.state.in_(("RUNNING", "CREATED"))
    match event:
        case ExecutionPaused():
            return anyway, {"state": "PAUSED"}
        case ExecutionResumed():
            outputs = {
                "onResume": dict(event.inputs),
                "resumed": {
                    "by": event.by,
                    "on": at.isoformat(),
                    "timedOut": event.timed_out,
                },
            }
            return ~t.c.settled, _settle("SUCCESS", at, outputs)
        case SubflowExecutionEnded():
            return anyway, {"child_execution_id": event.execution_id}
        case TaskRunStarted():
            started = sa.func.coalesce(t.c.started_at, sa.literal(at, UtcDateTime))
            values = {"state": "RUNNING", "started_at": started, "worker": event.worker}
            return ~t.c.settled & (t.c.attempts == event.attempt), values
        case TaskRunWaiting():
            return current & (t.c.attempts == event.attempt), {"state": "RUNNING"}
        case TaskRunSucceeded():
            values = _settle(event.state, at, event.outputs)
            return current & (t.c.attempts == event.attempt), values
        case TaskRunFailed():
            values = {
                "state": "FAILED",
                "error_type": event.error_type,
                "message": event.message,
            }
            return current & (t.c.attempts == event.attempt), values
        case TaskRunRetryScheduled():
            return anyway, {"state": "RETRYING", "attempts": event.attempt}
        case TaskRunDispatched():
            return t.c.state == "RETRYING", {"state": "CREATED"}
        case TaskRunSkipped():
            return anyway, {**_settle("SKIPPED", at, None), "message": event.reason}
        case TaskRunEnded():
            values = _settle(event.state, at, event.outputs or None)
            if event.message:
                values["message"] = event.message
            return anyway, values
    return None


def _settle(
    state: str, at: datetime, outputs: dict[str, JsonValue] | None
) -> dict[str, object]:
    values: dict[str, object] = {"state": state, "settled": True, "ended_at": at}
    if outputs is not None:
        values["outputs"] = summary(outputs)
    return values


def _created(
    execution_id: str, event: TaskRunCreated, recorded: RecordedEvent
) -> dict[str, object]:
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


def _restart(
    conn: sa.Connection,
    t: sa.Table,
    in_execution: sa.ColumnElement[bool],
    event: ExecutionRestarted,
) -> None:
    if event.removed_task_run_ids:
        conn.execute(
            t.delete().where(
                in_execution & t.c.task_run_id.in_(event.removed_task_run_ids)
            )
        )
    if event.task_run_ids:
        again = {
            "settled": False, "ended_at": None, "state": "CREATED", "message": None,
            "error_type": None, "attempts": t.c.attempts + 1,
        }  # fmt: skip
        conn.execute(
            t.update()
            .where(in_execution & t.c.task_run_id.in_(event.task_run_ids))
            .values(again)
        )


PROJECTION = Projection(name="task_runs", tables=(TASK_RUNS,), apply=apply)
