"""Raw SQL on the event log's tables, for tests playing a tamperer or an old sluice."""

from __future__ import annotations

import sqlalchemy as sa

from sluice.eventstore.schema import events

TRIGGERS = {
    "sqlite": ["DROP TRIGGER events_no_update", "DROP TRIGGER events_no_delete"],
    "postgresql": [
        "DROP TRIGGER events_no_update_delete ON events",
        "DROP TRIGGER events_no_truncate ON events",
    ],
}


def drop_append_only_triggers(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for statement in TRIGGERS[engine.dialect.name]:
            conn.exec_driver_sql(statement)


def insert_row(engine: sa.Engine, **fields) -> int:
    """Insert an `events` row as an older sluice (or a corrupted disk) might have."""
    with engine.begin() as conn:
        top = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0))
        )
        row = {
            "position": top.scalar_one() + 1,
            "version": 1,
            "schema_version": 1,
            "actor": "scheduler",
            "hash": "0" * 64,
            **fields,
        }
        conn.execute(events.insert(), row)
    return row["position"]


def update_event(engine: sa.Engine, position: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(events).where(events.c.position == position).values(**values)
        )
