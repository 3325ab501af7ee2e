"""The `executions` view: one row per execution, shaped for listing and searching.

The state mirrors `sluice.core.state.fold` (the execution level only): `executions
replay` checks that folding a whole stream gives the state stored here.

The trigger columns come from `ExecutionCreated.trigger`, read as Kestra's trigger
context: ``{"id": <trigger id>, "type": <trigger type>, "variables": {...}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
from sluice.projections._rows import Row, Rows
from sluice.projections._schema import (
    JSON_TYPE,
    METADATA,
    Projection,
    Tables,
    UtcDateTime,
    by_execution,
    pk_name,
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


def apply(events: Sequence[RecordedEvent], conn: sa.Connection, tables: Tables) -> None:
    """Write the effect of a batch of events on their executions' rows."""
    table = tables["executions"]
    rows = Rows(conn, table)
    touched = by_execution(events)
    wanted = {execution_id for execution_id, _ in touched} | {
        e.event.origin.execution_id
        for _, e in touched
        if isinstance(e.event, ExecutionCreated) and e.event.origin is not None
    }
    if wanted:
        rows.load(table.c.id.in_(wanted))
    for execution_id, recorded in touched:
        _apply_one(rows, execution_id, recorded)
    rows.flush()


def _apply_one(rows: Rows, execution_id: str, recorded: RecordedEvent) -> None:
    event, at = recorded.event, recorded.recorded_at
    if isinstance(event, ExecutionCreated):
        rows.add(_created(event, rows, at))
        return
    row = rows.get(execution_id)
    if row is None:
        return
    match event:
        case ExecutionQueued():
            row["state"] = "QUEUED"
        case ExecutionStarted():
            row["state"], row["started_at"] = "RUNNING", row["started_at"] or at
        case ExecutionPaused():
            row["state"] = "PAUSED"
        case ExecutionResumed() if row["state"] == "PAUSED":
            row["state"] = "RUNNING"
        case ExecutionKillRequested() if row["state"] not in TERMINAL:
            row["state"] = "KILLING"
        case ExecutionRestarted():
            row.update(state="RUNNING", ended_at=None, attempts=event.attempt_number)
        case ExecutionEnded():
            row["state"], row["ended_at"] = event.state, at


def _created(event: ExecutionCreated, rows: Rows, at: datetime) -> Row:
    trigger = event.trigger or {}
    original = None
    if event.origin is not None:
        # The first execution of a replay chain (Kestra's originalId): the origin's own
        # original if it was itself a replay.
        origin = rows.get(event.origin.execution_id)
        original = (origin or {}).get(
            "original_execution_id"
        ) or event.origin.execution_id
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
