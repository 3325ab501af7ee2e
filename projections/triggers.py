"""The `triggers` view: each trigger's last fire, cursor and failures.

The row of a trigger is keyed by its stream, ``trigger/<namespace>/<flow>/<trigger>``,
and created by its first event, whatever it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from sluice.core.events import (
    RecordedEvent,
    TriggerCursorAdvanced,
    TriggerEvaluationFailed,
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


def apply(events: Sequence[RecordedEvent], conn: sa.Connection, tables: Tables) -> None:
    """Update the rows of the batch's triggers (a trigger's first event creates it)."""
    table = tables["triggers"]
    keyed = [(_key(e.stream), e) for e in events]
    wanted = {key for key, _ in keyed if key is not None}
    if not wanted:
        return
    rows = Rows(conn, table)
    rows.load(
        sa.tuple_(table.c.namespace, table.c.flow_id, table.c.trigger_id).in_(wanted)
    )
    for key, recorded in keyed:
        if key is not None:
            _apply_one(rows, key, recorded)
    rows.flush()


def _key(stream: str) -> tuple[str, str, str] | None:
    """(namespace, flow, trigger) of a `trigger/<namespace>/<flow>/<trigger>` stream."""
    parts = stream.split("/")
    if len(parts) != 4 or parts[0] != "trigger":
        return None
    return parts[1], parts[2], parts[3]


def _apply_one(rows: Rows, key: tuple[str, str, str], recorded: RecordedEvent) -> None:
    event, at = recorded.event, recorded.recorded_at
    if not isinstance(
        event, TriggerFired | TriggerCursorAdvanced | TriggerEvaluationFailed
    ):
        return
    row = rows.get(*key) or rows.add({
        "namespace": key[0], "flow_id": key[1], "trigger_id": key[2],
        "fire_count": 0, "failure_count": 0,
    })  # fmt: skip
    match event:
        case TriggerFired():
            row.update(last_fired_at=at, last_scheduled_for=event.scheduled_for,
                       last_execution_id=event.execution_id)  # fmt: skip
            row["fire_count"] += 1
        case TriggerCursorAdvanced():
            row.update(cursor=event.cursor, cursor_at=at)
        case TriggerEvaluationFailed():
            failure = f"{event.error_type}: {event.message}"
            row.update(last_failure_at=at, last_failure=failure)
            row["failure_count"] += 1


PROJECTION = Projection(name="triggers", tables=(TRIGGERS,), apply=apply)
