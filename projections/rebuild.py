"""Rebuilding a view from zero while the log and the live view keep moving.

1. Copies of the projection's tables (`executions__rebuild`, no secondary indexes, so
   the bulk load is cheap) are filled from position 0 with their own checkpoint,
   batch by batch, holding no lock on the live view: readers and the live runner go on.
2. One transaction swaps them in: it takes the live checkpoint's lock (the live runner
   waits), catches the copies up to the head (events appended during the build are not
   lost), drops the live tables, renames the copies, creates the indexes, and moves the
   live checkpoint to where the copies stand.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa

from sluice.core.events import NewEvent, OperatorActionRecorded
from sluice.core.ports import ANY_VERSION
from sluice.projections._schema import (
    CHECKPOINTS,
    Projection,
    pk_name,
    write_transaction,
)
from sluice.projections.catalog import projection
from sluice.projections.errors import RebuildError
from sluice.projections.runner import SqlEventLog, apply_batch, ensure_tables, reset

SUFFIX = "__rebuild"


class RebuildReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a rebuild did."""

    name: str
    position: int
    events: int
    seconds: float


def rebuild(
    log: SqlEventLog, name: str, actor: str | None = None, batch_size: int = 2000
) -> RebuildReport:
    """Recompute the projection `name` from the whole log and swap it in.

    Args:
        log: the event log; the views live on `log.engine`.
        name: which projection (`UnknownProjectionError` lists the known ones).
        actor: who asked (`user:alice`); recorded as a `projection.rebuild` action.
        batch_size: events per transaction while building.
    """
    started = time.monotonic()
    target = projection(name)
    engine = log.engine
    ensure_tables(engine, [target])
    scratch = sa.MetaData()
    copies = {t.name: _copy(t, scratch) for t in target.tables}
    checkpoint = target.name + SUFFIX
    with write_transaction(engine) as conn:
        reset(conn, target, list(copies.values()), checkpoint)
    position, applied = _fill(log, engine, target, copies, batch_size)
    with write_transaction(engine) as conn:
        _lock_checkpoint(conn, target.name)
        position, more = _catch_up_in(conn, log, target, copies, position, batch_size)
        _swap(conn, target, copies, position)
    if engine.dialect.name == "postgresql":
        _analyze(engine, target)
    if actor:
        recorded = OperatorActionRecorded(
            action="projection.rebuild", detail={"name": name}
        )
        log.append("audit", [NewEvent(event=recorded, actor=actor)], ANY_VERSION)
    return RebuildReport(
        name=name, position=position, events=applied + more,
        seconds=round(time.monotonic() - started, 3),
    )  # fmt: skip


def _copy(table: sa.Table, scratch: sa.MetaData) -> sa.Table:
    """The table under its rebuild name, without secondary indexes."""
    copy = table.to_metadata(scratch, name=table.name + SUFFIX)
    copy.indexes.clear()
    copy.primary_key.name = pk_name(copy.name)  # PostgreSQL names are per schema
    return copy


def _fill(
    log: SqlEventLog,
    engine: sa.Engine,
    target: Projection,
    copies: dict[str, sa.Table],
    batch_size: int,
) -> tuple[int, int]:
    """Fill the copies (keyed by live name) from position 0, a transaction a batch."""
    position = applied = 0
    while batch := log.read_all(after_position=position, limit=batch_size):
        with write_transaction(engine) as conn:
            done = apply_batch(
                conn, target, target.name + SUFFIX, copies, position, batch
            )
        if done == 0:
            raise RebuildError(f"another rebuild of {target.name!r} is running")
        applied += done
        position = batch[-1].position
    return position, applied


def _catch_up_in(
    conn: sa.Connection,
    log: SqlEventLog,
    target: Projection,
    copies: dict[str, sa.Table],
    position: int,
    batch_size: int,
) -> tuple[int, int]:
    """Apply, inside the swap transaction, what was appended since the build ended."""
    applied = 0
    while batch := log.read_all(after_position=position, limit=batch_size):
        applied += apply_batch(
            conn, target, target.name + SUFFIX, copies, position, batch
        )
        position = batch[-1].position
    return position, applied


def _lock_checkpoint(conn: sa.Connection, name: str) -> None:
    """Take the live checkpoint's row lock: the live runner waits for the swap."""
    row = CHECKPOINTS.c.name == name
    conn.execute(
        CHECKPOINTS.update().where(row).values(position=CHECKPOINTS.c.position)
    )


def _swap(
    conn: sa.Connection, target: Projection, copies: dict[str, sa.Table], position: int
) -> None:
    quote = conn.dialect.identifier_preparer.quote
    for live in target.tables:
        copy = copies[live.name]
        live.drop(conn)
        conn.exec_driver_sql(
            f"ALTER TABLE {quote(copy.name)} RENAME TO {quote(live.name)}"
        )
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                f"ALTER TABLE {quote(live.name)} RENAME CONSTRAINT "
                f"{quote(pk_name(copy.name))} TO {quote(pk_name(live.name))}"
            )
        for index in live.indexes:
            index.create(conn)
    conn.execute(
        CHECKPOINTS.update()
        .where(CHECKPOINTS.c.name == target.name)
        .values(
            position=position,
            schema_hash=target.schema_hash,
            updated_at=datetime.now(UTC),
        )
    )
    conn.execute(CHECKPOINTS.delete().where(CHECKPOINTS.c.name == target.name + SUFFIX))


def _analyze(engine: sa.Engine, target: Projection) -> None:
    """Give PostgreSQL's planner statistics on the new tables (before autovacuum)."""
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in target.tables:
            conn.exec_driver_sql(f"ANALYZE {quote(table.name)}")
