"""The `triggers` view: each trigger's last fire, cursor and failures.

The row of a trigger is keyed by its stream, ``trigger/<namespace>/<flow>/<trigger>``,
and created by its first event, whatever it is.
"""

from __future__ import annotations

import sqlalchemy as sa

from sluice.core.events import (
    RecordedEvent,
    TriggerCursorAdvanced,
    TriggerEvaluationFailed,
    TriggerFired,
)
from sluice.projections._schema import (
    JSON_TYPE,
    METADATA,
    Projection,
    Tables,
    UtcDateTime,
    pk_name,
)

TRIGGERS = sa.Table(
    "triggers",
    METADATA,
    sa.Column("namespace", sa.String(255), nullable=False),
    sa.Column("flow_id", sa.String(255), nullable=False),
    sa.Column("trigger_id", sa.String(255), nullable=False),
    sa.Column("last_fired_at", UtcDateTime),
    sa.Column("last_scheduled_for", UtcDateTime),
    sa.Column("last_execution_id", sa.String(64)),
    sa.Column("fire_count", sa.Integer, nullable=False),
    sa.Column("cursor", JSON_TYPE),
    sa.Column("cursor_at", UtcDateTime),
    sa.Column("last_failure_at", UtcDateTime),
    sa.Column("last_failure", sa.Text),
    sa.Column("failure_count", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint(
        "namespace", "flow_id", "trigger_id", name=pk_name("triggers")
    ),
)


def apply(recorded: RecordedEvent, conn: sa.Connection, tables: Tables) -> None:
    """Update the row of the event's trigger (its first event creates it)."""
    parts = recorded.stream.split("/")
    if len(parts) != 4 or parts[0] != "trigger":
        return
    t, event, at = tables["triggers"], recorded.event, recorded.recorded_at
    values: dict[str, object]
    match event:
        case TriggerFired():
            counter = "fire_count"
            values = {"last_fired_at": at, "last_scheduled_for": event.scheduled_for,
                      "last_execution_id": event.execution_id}  # fmt: skip
        case TriggerCursorAdvanced():
            counter, values = None, {"cursor": event.cursor, "cursor_at": at}
        case TriggerEvaluationFailed():
            counter = "failure_count"
            failure = f"{event.error_type}: {event.message}"
            values = {"last_failure_at": at, "last_failure": failure}
        case _:
            return
    namespace, flow_id, trigger_id = parts[1:]
    key = (t.c.namespace == namespace) & (t.c.flow_id == flow_id)
    key &= t.c.trigger_id == trigger_id
    counted = {counter: t.c[counter] + 1} if counter else {}
    if conn.execute(t.update().where(key).values(values | counted)).rowcount == 0:
        first = {"fire_count": 0, "failure_count": 0} | (
            {counter: 1} if counter else {}
        )
        ids = {"namespace": namespace, "flow_id": flow_id, "trigger_id": trigger_id}
        conn.execute(t.insert().values(ids | first | values))


PROJECTION = Projection(name="triggers", tables=(TRIGGERS,), apply=apply)
