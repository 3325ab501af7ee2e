"""The work queue in SQL: enqueue, claim with a lease, extend, release, complete.

Each function runs inside the caller's transaction, so enqueuing and completing happen
atomically with the events that decided them (the transactional outbox). Claiming is
FIFO (by enqueue order) over items that are due and unleased or whose lease expired;
on PostgreSQL concurrent claimers skip each other's rows (`FOR UPDATE SKIP LOCKED`),
on SQLite the claim is one `UPDATE … RETURNING` under the write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import sqlalchemy as sa

from sluice.core.errors import StaleLeaseError
from sluice.core.ports import Lease, WorkItem
from sluice.eventstore.dialects import LogDialect
from sluice.eventstore.schema import work_items

_c = work_items.c


def enqueue(
    conn: sa.Connection, dialect: LogDialect, items: Sequence[WorkItem]
) -> None:
    """Put items on the queue; an item whose key is queued already is left as it is."""
    if not items:
        return
    rows = [
        {
            "key": item.key, "execution_id": item.execution_id,
            "task_run_id": item.task_run_id, "attempt": item.attempt,
            "available_at": item.available_at,
            "payload": msgspec.json.encode(item.payload).decode(),
        }
        for item in items
    ]  # fmt: skip
    conn.execute(dialect.insert_work(), rows)


def complete(conn: sa.Connection, leases: Sequence[Lease]) -> None:
    """Remove the leased items, if every lease is still current.

    Raises:
        StaleLeaseError: a lease expired and was claimed again (or released); the
            caller's transaction must then be rolled back.
    """
    if not leases:
        return
    pairs = [(lease.item.key, lease.token) for lease in leases]
    deleted = conn.execute(
        sa.delete(work_items)
        .where(sa.tuple_(_c.key, _c.lease_token).in_(pairs))
        .returning(_c.key)
    ).scalars()
    stale = sorted({key for key, _ in pairs} - set(deleted))
    if stale:
        raise StaleLeaseError(f"the lease on {', '.join(stale)} is no longer held")


def claim(
    conn: sa.Connection,
    dialect: LogDialect,
    worker: str,
    limit: int,
    expires: datetime,
    now: datetime,
) -> list[Lease]:
    """Lease up to `limit` due items to `worker` until `expires`, oldest first."""
    due = sa.or_(_c.available_at.is_(None), _c.available_at <= now)
    free = sa.or_(_c.lease_expires.is_(None), _c.lease_expires <= now)
    chosen = (
        sa.select(_c.seq).where(due, free).order_by(_c.seq).limit(limit)
        .with_for_update(skip_locked=True)
    )  # fmt: skip
    rows = conn.execute(
        sa.update(work_items)
        .where(_c.seq.in_(chosen))
        .values(
            leased_by=worker, lease_token=dialect.lease_token(), lease_expires=expires
        )
        .returning(*work_items.c)
    ).all()
    return [_lease(row) for row in sorted(rows, key=lambda r: r.seq)]


def extend(conn: sa.Connection, lease: Lease, expires: datetime) -> Lease:
    """Move a lease's expiry; `StaleLeaseError` if it is no longer held."""
    _update_held(conn, lease, lease_expires=expires)
    return Lease(
        item=lease.item, worker=lease.worker, token=lease.token, expires=expires
    )


def release(conn: sa.Connection, lease: Lease) -> None:
    """Put a leased item back on the queue, due at once for the next claimer."""
    _update_held(conn, lease, leased_by=None, lease_token=None, lease_expires=None)


def _update_held(conn: sa.Connection, lease: Lease, **values: object) -> None:
    held = (_c.key == lease.item.key) & (_c.lease_token == lease.token)
    if conn.execute(sa.update(work_items).where(held).values(**values)).rowcount != 1:
        raise StaleLeaseError(f"the lease on {lease.item.key} is no longer held")


def _lease(row: sa.Row[tuple[object, ...]]) -> Lease:
    item = WorkItem(
        key=row.key, execution_id=row.execution_id, task_run_id=row.task_run_id,
        attempt=row.attempt, available_at=row.available_at,
        payload=msgspec.json.decode(row.payload),
    )  # fmt: skip
    return Lease(
        item=item,
        worker=row.leased_by,
        token=row.lease_token,
        expires=row.lease_expires,
    )
