"""The `executions` view: one row per execution, shaped for listing and searching.

The state mirrors `sluice.core.state.fold` (the execution level only): `executions
replay` checks that folding a whole stream gives the state stored here.

The trigger columns come from `ExecutionCreated.trigger`, read as Kestra's trigger
context: ``{"id": <trigger id>, "type": <trigger type>, "variables": {...}}``.
"""

from __future__ import annotations

import sqlalchemy as sa

from sluice.core.events import (
    ExecutionCreated,
    ExecutionEnded,
    ExecutionKillRequested,
    ExecutionPaused,
    ExecutionQueued,
    ExecutionRestarted,
    ExecutionResumed,
    ExecutionStarted,
    RecordedEvent,
)
from sluice.core.state import TERMINAL
from sluice.projections._schema import (
    JSON_TYPE,
    METADATA,
    Projection,
    Tables,
    UtcDateTime,
    pk_name,
    stream_id,
)

EXECUTIONS = sa.Table(
    "executions",
    METADATA,
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("namespace", sa.String(255), nullable=False),
    sa.Column("flow_id", sa.String(255), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("trigger_type", sa.String(255)),
    sa.Column("trigger_id", sa.String(255)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("labels", JSON_TYPE, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("parent_execution_id", sa.String(64)),
    sa.Column("original_execution_id", sa.String(64)),
    sa.PrimaryKeyConstraint("id", name=pk_name("executions")),
    # Lists are newest first, filtered by flow/state/namespace: each index ends with the
    # keyset (created_at, id) so a page is one index range scan.
    sa.Index("ix_executions_created", "created_at", "id"),
    sa.Index("ix_executions_flow_state", "flow_id", "state", "created_at", "id"),
    sa.Index("ix_executions_flow", "flow_id", "created_at", "id"),
    sa.Index("ix_executions_namespace", "namespace", "created_at", "id"),
    sa.Index("ix_executions_state", "state", "created_at", "id"),
    sa.Index("ix_executions_labels", "labels", postgresql_using="gin").ddl_if(
        dialect="postgresql"
    ),
)


def apply(recorded: RecordedEvent, conn: sa.Connection, tables: Tables) -> None:
    """Write the effect of one event on its execution's row."""
    execution_id = stream_id(recorded.stream, "execution")
    if execution_id is None:
        return
    table, event, at = tables["executions"], recorded.event, recorded.recorded_at
    row = table.c.id == execution_id
    match event:
        case ExecutionCreated():
            conn.execute(table.insert().values(_created(event, conn, table, at)))
        case ExecutionQueued():
            conn.execute(table.update().where(row).values(state="QUEUED"))
        case ExecutionStarted():
            started = sa.func.coalesce(table.c.started_at, sa.literal(at, UtcDateTime))
            conn.execute(
                table.update().where(row).values(state="RUNNING", started_at=started)
            )
        case ExecutionPaused():
            conn.execute(table.update().where(row).values(state="PAUSED"))
        case ExecutionResumed():
            paused = row & (table.c.state == "PAUSED")
            conn.execute(table.update().where(paused).values(state="RUNNING"))
        case ExecutionKillRequested():
            live = row & table.c.state.not_in(TERMINAL)
            conn.execute(table.update().where(live).values(state="KILLING"))
        case ExecutionRestarted():
            values = {
                "state": "RUNNING",
                "ended_at": None,
                "attempts": event.attempt_number,
            }
            conn.execute(table.update().where(row).values(values))
        case ExecutionEnded():
            conn.execute(
                table.update().where(row).values(state=event.state, ended_at=at)
            )
        case _:
            pass


def _created(
    event: ExecutionCreated, conn: sa.Connection, table: sa.Table, at: object
) -> dict[str, object]:
    trigger = event.trigger or {}
    original = None
    if event.origin is not None:
        # The first execution of a replay chain (Kestra's originalId): the origin's own
        # original if it was itself a replay.
        found = conn.execute(
            sa.select(table.c.original_execution_id).where(
                table.c.id == event.origin.execution_id
            )
        ).scalar()
        original = found or event.origin.execution_id
    return {
        "id": event.execution_id,
        "namespace": event.namespace,
        "flow_id": event.flow_id,
        "revision": event.flow_revision,
        "state": "CREATED",
        "trigger_type": _text(trigger.get("type")),
        "trigger_id": _text(trigger.get("id")),
        "created_at": at,
        "labels": dict(event.labels),
        "attempts": 1,
        "parent_execution_id": event.parent.execution_id if event.parent else None,
        "original_execution_id": original,
    }


def _text(value: object) -> str | None:
    return None if value is None else str(value)


PROJECTION = Projection(name="executions", tables=(EXECUTIONS,), apply=apply)
