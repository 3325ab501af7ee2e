"""The `audit_log` view: who did what, when, to which execution or flow, from where.

One row per operator or trigger action, keyed by the event's log position:

    action          from
    create          ExecutionCreated by a user or an API token (not by the scheduler)
    replay          ExecutionCreated with a replay origin
    resume          ExecutionResumed (an approval; `detail.inputs` are the resume
                    inputs, whose secret values never reach the log)
    kill            ExecutionKillRequested
    restart         ExecutionRestarted
    deploy          FlowDeployed
    trigger.fire    TriggerFired
    trigger.action  TriggerActionCompleted (the MOVE/DELETE after a fire)
    <action>        OperatorActionRecorded, as recorded (`replay.view`, …)

`actor` is the envelope's actor (who appended it: `user:<name>`, `api:<token>`,
`trigger:<ns>/<flow>/<id>`, `scheduler`). A second table remembers each execution's
namespace and flow, so actions on an execution can be searched by flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa

from sluice.core.events import (
    ExecutionCreated,
    ExecutionKillRequested,
    ExecutionRestarted,
    ExecutionResumed,
    FlowDeployed,
    OperatorActionRecorded,
    RecordedEvent,
    TriggerActionCompleted,
    TriggerFired,
)
from sluice.projections._rows import Rows
from sluice.projections._schema import (
    JSON_TYPE,
    METADATA,
    Projection,
    Tables,
    UtcDateTime,
    pk_name,
    stream_id,
)

AUDIT_LOG = sa.Table(
    "audit_log",
    METADATA,
    sa.Column("position", sa.BigInteger, nullable=False, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("execution_id", sa.String(64)),
    sa.Column("namespace", sa.String(255)),
    sa.Column("flow_id", sa.String(255)),
    sa.Column("detail", JSON_TYPE, nullable=False),
    sa.Column("address", sa.String(255)),
    sa.PrimaryKeyConstraint("position", name=pk_name("audit_log")),
    # Searches are newest first (position descending) under one filter.
    sa.Index("ix_audit_log_actor", "actor", "position"),
    sa.Index("ix_audit_log_action", "action", "position"),
    sa.Index("ix_audit_log_flow", "flow_id", "position"),
    sa.Index("ix_audit_log_execution", "execution_id", "position"),
    sa.Index("ix_audit_log_at", "at"),
)

AUDIT_EXECUTIONS = sa.Table(
    "audit_log_executions",
    METADATA,
    sa.Column("execution_id", sa.String(64), nullable=False),
    sa.Column("namespace", sa.String(255), nullable=False),
    sa.Column("flow_id", sa.String(255), nullable=False),
    sa.PrimaryKeyConstraint("execution_id", name=pk_name("audit_log_executions")),
)

_OPERATORS = ("user:", "api:")


def apply(events: Sequence[RecordedEvent], conn: sa.Connection, tables: Tables) -> None:
    """Record the actions a batch of events stands for (and where executions belong)."""
    places = Rows(conn, tables["audit_log_executions"])
    found: list[tuple[RecordedEvent, Found]] = []
    for recorded in events:
        event = recorded.event
        if isinstance(event, ExecutionCreated):
            where = {"namespace": event.namespace, "flow_id": event.flow_id}
            places.add({"execution_id": event.execution_id, **where})
        if (action := _action(recorded)) is not None:
            found.append((recorded, action))
    unplaced = {a[1] for _, a in found if a[2] is None and a[1] is not None}
    if unplaced:
        places.load(tables["audit_log_executions"].c.execution_id.in_(unplaced))
    entries = Rows(conn, tables["audit_log"])
    for recorded, (action, execution_id, where, detail) in found:
        if where is None and execution_id is not None:
            place = places.get(execution_id)
            where = (place["namespace"], place["flow_id"]) if place else None
        event = recorded.event
        namespace, flow_id = where or (None, None)
        address = event.address if isinstance(event, OperatorActionRecorded) else None
        entries.add({
            "position": recorded.position, "at": recorded.recorded_at,
            "actor": recorded.actor, "action": action, "execution_id": execution_id,
            "namespace": namespace, "flow_id": flow_id,
            "detail": msgspec.to_builtins(detail), "address": address,
        })  # fmt: skip
    places.flush()
    entries.flush()


Where = tuple[str, str] | None
Found = tuple[str, str | None, Where, dict[str, Any]]


def _action(recorded: RecordedEvent) -> Found | None:
    """(action, execution, (namespace, flow) if known, detail) of an audited event."""
    event, execution_id = recorded.event, stream_id(recorded.stream, "execution")
    match event:
        case ExecutionCreated():
            where = (event.namespace, event.flow_id)
            detail: dict[str, Any] = {
                "revision": event.flow_revision,
                "labels": event.labels,
            }
            if event.origin is not None:
                detail |= {
                    "from": event.origin.execution_id,
                    "task_id": event.origin.task_id,
                }
                return "replay", event.execution_id, where, detail
            if recorded.actor.startswith(_OPERATORS):
                return (
                    "create",
                    event.execution_id,
                    where,
                    {**detail, "inputs": event.inputs},
                )
        case ExecutionResumed():
            detail = {"task_run_id": event.task_run_id, "by": event.by,
                      "inputs": event.inputs, "timed_out": event.timed_out}  # fmt: skip
            return "resume", execution_id, None, detail
        case ExecutionKillRequested():
            return "kill", execution_id, None, {"by": event.by}
        case ExecutionRestarted():
            detail = {"by": event.by, "task_run_ids": event.task_run_ids,
                      "attempt_number": event.attempt_number}  # fmt: skip
            return "restart", execution_id, None, detail
        case FlowDeployed():
            detail = {"revision": event.revision, "checksum": event.checksum}
            return "deploy", None, (event.namespace, event.flow_id), detail
        case TriggerFired():
            detail = {
                "trigger_id": event.trigger_id,
                "scheduled_for": event.scheduled_for,
            }
            return (
                "trigger.fire",
                event.execution_id,
                (event.namespace, event.flow_id),
                detail,
            )
        case TriggerActionCompleted():
            detail = {
                "trigger_id": event.trigger_id,
                "action": event.action,
                **event.detail,
            }
            return (
                "trigger.action",
                event.execution_id,
                _trigger_flow(recorded.stream),
                detail,
            )
        case OperatorActionRecorded():
            return event.action, event.execution_id, None, dict(event.detail)
    return None


def _trigger_flow(stream: str) -> Where:
    """(namespace, flow) of a `trigger/<namespace>/<flow>/<trigger>` stream."""
    parts = stream.split("/")
    return (parts[1], parts[2]) if len(parts) == 4 and parts[0] == "trigger" else None


PROJECTION = Projection(
    name="audit_log", tables=(AUDIT_LOG, AUDIT_EXECUTIONS), apply=apply
)
