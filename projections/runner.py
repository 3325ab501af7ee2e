"""Keeping the views up to date: tail the log from each checkpoint, exactly once.

Each batch of events is applied to a projection's tables and its checkpoint is moved in
ONE transaction; the transaction's first statement moves the checkpoint only if it is
still where this runner read it (compare and set), which both takes the row's lock and
tells a runner that another one (the server, a CLI command) got there first. So a
crash anywhere leaves rows and checkpoint together, and two runners never apply the
same event twice.

    runner = ProjectionRunner(log)          # log.engine is where the views live
    runner.run_once()                       # catch up to the head; events applied
    await runner.run_forever(stop_event)    # sluice server: poll until stop is set
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import msgspec
import sqlalchemy as sa

from sluice.core.errors import OrchestratorError
from sluice.core.events import RecordedEvent
from sluice.core.ports import EventLog
from sluice.projections._schema import (
    CHECKPOINTS,
    METADATA,
    Projection,
    write_transaction,
)
from sluice.projections.catalog import PROJECTIONS

logger = logging.getLogger(__name__)

_ENSURE_LOCK = 0x51_1CE_0  # PostgreSQL advisory lock: one process creates the tables


class SqlEventLog(EventLog, Protocol):
    """An event log in a SQL database: the views live beside it, on `engine`."""

    engine: sa.Engine


class ProjectionStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where a projection stands against the log."""

    name: str
    position: int
    head: int
    lag: int
    updated_at: datetime | None


def ensure_tables(engine: sa.Engine, projections: Sequence[Projection]) -> None:
    """Create missing projection tables; drop and reset those whose schema changed."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_ENSURE_LOCK)))
        CHECKPOINTS.create(conn, checkfirst=True)
        query = sa.select(CHECKPOINTS.c.name, CHECKPOINTS.c.schema_hash)
        stored = {name: digest for name, digest in conn.execute(query)}
        for projection in projections:
            if stored.get(projection.name) == projection.schema_hash:
                METADATA.create_all(
                    conn, tables=list(projection.tables), checkfirst=True
                )
            else:
                reset(conn, projection, projection.tables, projection.name)


def reset(
    conn: sa.Connection, projection: Projection, tables: Sequence[sa.Table], name: str
) -> None:
    """Drop and recreate `tables` empty, with checkpoint `name` back at position 0."""
    for table in tables:
        table.drop(conn, checkfirst=True)
        table.create(conn)
    conn.execute(CHECKPOINTS.delete().where(CHECKPOINTS.c.name == name))
    conn.execute(
        CHECKPOINTS.insert().values(
            name=name, position=0, schema_hash=projection.schema_hash, updated_at=None
        )
    )


def read_positions(conn: sa.Connection, names: Sequence[str]) -> dict[str, int]:
    """The checkpoint positions of `names` (missing ones are absent)."""
    query = sa.select(CHECKPOINTS.c.name, CHECKPOINTS.c.position).where(
        CHECKPOINTS.c.name.in_(names)
    )
    return {name: int(position) for name, position in conn.execute(query)}


def apply_batch(
    conn: sa.Connection,
    projection: Projection,
    checkpoint: str,
    tables: dict[str, sa.Table],
    after: int,
    events: Sequence[RecordedEvent],
) -> int:
    """Apply `events` past `after`, moving `checkpoint` in the same transaction.

    Returns how many events were applied: 0 when another runner moved the checkpoint
    first (nothing is written then).
    """
    todo = [e for e in events if e.position > after]
    if not todo:
        return 0
    moved = conn.execute(
        CHECKPOINTS.update()
        .where(CHECKPOINTS.c.name == checkpoint, CHECKPOINTS.c.position == after)
        .values(position=todo[-1].position, updated_at=datetime.now(UTC))
    )
    if moved.rowcount != 1:
        return 0
    projection.apply(todo, conn, tables)
    return len(todo)


class ProjectionRunner:
    """Tails the log into the projection tables, from each one's checkpoint.

    Args:
        log: the event log (its `engine` holds the views unless `engine` is given).
        engine: where the views live (the log's own database by default).
        projections: which views to keep (all by default).
        batch_size: events read and applied per transaction.
    """

    def __init__(
        self,
        log: SqlEventLog,
        engine: sa.Engine | None = None,
        projections: Sequence[Projection] | None = None,
        batch_size: int = 1000,
    ) -> None:
        self._log = log
        self._engine = engine if engine is not None else log.engine
        self._projections = tuple(projections or PROJECTIONS.values())
        self._batch_size = batch_size
        self._ready = False

    @property
    def engine(self) -> sa.Engine:
        """The database of the views."""
        return self._engine

    def ensure(self) -> None:
        """Create the tables (once per runner); reset those whose schema changed."""
        if not self._ready:
            ensure_tables(self._engine, self._projections)
            self._ready = True

    def run_once(self) -> int:
        """Catch every projection up to the log's current head; return events applied.

        Events appended meanwhile may be applied too; the next call gets the rest.
        """
        self.ensure()
        head = self._log.head_position()
        names = [p.name for p in self._projections]
        applied = 0
        while True:
            with self._engine.connect() as conn:
                positions = read_positions(conn, names)
            behind = [p for p in self._projections if positions[p.name] < head]
            if not behind:
                return applied
            start = min(positions[p.name] for p in behind)
            batch = self._log.read_all(after_position=start, limit=self._batch_size)
            if not batch:
                return applied
            for projection in behind:
                with write_transaction(self._engine) as conn:
                    applied += apply_batch(
                        conn, projection, projection.name, dict(projection.live),
                        positions[projection.name], batch,
                    )  # fmt: skip

    async def run_forever(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Catch up every `interval` seconds until `stop` is set; errors are logged."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except (sa.exc.SQLAlchemyError, OrchestratorError, OSError):
                # The views are behind, not wrong: log it and try again next round.
                logger.exception(
                    "projection catch-up failed; retrying in %.1fs", interval
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    def status(self) -> list[ProjectionStatus]:
        """Each projection's checkpoint against the log's head."""
        self.ensure()
        head = self._log.head_position()
        names = [p.name for p in self._projections]
        query = sa.select(CHECKPOINTS).where(CHECKPOINTS.c.name.in_(names))
        with self._engine.connect() as conn:
            rows = {r.name: r for r in conn.execute(query)}
        return [
            ProjectionStatus(
                name=name,
                position=int(rows[name].position),
                head=head,
                lag=max(head - int(rows[name].position), 0),
                updated_at=rows[name].updated_at,
            )
            for name in names
        ]


def catch_up(log: SqlEventLog, engine: sa.Engine | None = None) -> int:
    """Bring every view up to the log's head (every read command calls this first)."""
    return ProjectionRunner(log, engine).run_once()
