"""Durable waits for long AWS jobs, idempotency tokens, and rows returned by queries.

A job task (Glue, EMR, EMR Serverless, Athena) never sleeps: its first `run` starts the
job and returns `Waiting` with the job's ids as the checkpoint; the engine records
that checkpoint and calls `run` again after the interval with `ctx.checkpoint` set,
and `poll_job` then looks at the *same* job. A restart in between resumes the poll
instead of starting a second job.

Query tasks (Athena, DynamoDB Query/Scan) share Kestra's fetch types: STORE writes the
rows to a JSON-lines file in internal storage, FETCH returns them, FETCH_ONE returns the
first, NONE returns only the count.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sluice.core.errors import TaskError
from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, TaskOutputs, Waiting

STARTED_AT = "startedAt"
"""Checkpoint key holding when the wait began (ISO 8601), for `maxDuration`."""


def client_token(ctx: RunContext, purpose: str = "") -> str:
    """An idempotency token for AWS, stable across attempts and restarts of a task run.

    64 hex characters: fits every AWS token (Athena wants 32 to 128, Secrets Manager and
    EMR Serverless at most 64). `purpose` tells two calls of one task run apart.
    """
    seed = f"{ctx.idempotency_key}:{purpose}".encode()
    return hashlib.sha256(seed).hexdigest()


# --- durable job waits -------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    """One look at a job: its state, whether it ended, and why it failed if it did.

    Attributes:
        state: the service's own state name (`RUNNING`, `SUCCEEDED`, …).
        finished: the job will not change any more.
        error: set when the job ended badly; the message the service gave.
        detail: the service's description of the job, to build outputs from.
    """

    state: str
    finished: bool
    error: str | None = None
    detail: Any = None


def iso_time(value: object) -> str | None:
    """An AWS timestamp as ISO 8601 text (None when the field is absent)."""
    return value.isoformat() if isinstance(value, datetime) else None


FIRST_LOOK = timedelta(seconds=1)
"""The longest a job task waits before its first look at a job it started."""


def started(ctx: RunContext, ids: dict[str, JsonValue], interval: timedelta) -> Waiting:
    """The `Waiting` to return right after starting a job: its ids and start time."""
    checkpoint = {**ids, STARTED_AT: ctx.clock.now().isoformat()}
    # The first look comes soon (many jobs end, or fail, within seconds); later looks
    # come every `interval`.
    return Waiting(
        checkpoint=checkpoint, poll_after=min(interval, FIRST_LOOK), message="started"
    )


def checkpoint_of(ctx: RunContext) -> dict[str, JsonValue]:
    """The checkpoint a job task was handed, checked to be one of ours."""
    checkpoint = ctx.checkpoint
    if not isinstance(checkpoint, dict) or STARTED_AT not in checkpoint:
        raise TaskError(
            f"not a job checkpoint: {checkpoint!r}", error_type="Checkpoint"
        )
    return checkpoint


async def poll_job(
    ctx: RunContext,
    what: str,
    poll: Callable[[dict[str, JsonValue]], Awaitable[JobStatus]],
    *,
    interval: timedelta,
    max_duration: timedelta | None,
    cancel: Callable[[dict[str, JsonValue]], Awaitable[None]] | None = None,
) -> JobStatus | Waiting:
    """Look at the checkpointed job once: wait again, or say how it ended.

    Returns the final `JobStatus` when the job succeeded, `Waiting` (same checkpoint)
    while it runs. Raises `TaskError` when it failed, or when it is still running after
    `max_duration` (it is cancelled first when `cancel` is given).
    """
    checkpoint = checkpoint_of(ctx)
    status = await poll(checkpoint)
    if status.finished:
        if status.error is not None:
            raise TaskError(
                f"{what} ended {status.state}: {status.error}", error_type=status.state
            )
        ctx.info(f"{what} ended {status.state}")
        return status
    began = datetime.fromisoformat(str(checkpoint[STARTED_AT]))
    waited = ctx.clock.now() - began
    if max_duration is not None and waited >= max_duration:
        if cancel is not None:
            await cancel(checkpoint)
        still = "cancelled" if cancel is not None else "left running"
        raise TaskError(
            f"{what} still {status.state} after {waited} (maxDuration {max_duration});"
            f" {still}",
            error_type="WaitTimeout",
        )
    ctx.info(f"{what} is {status.state}")
    return Waiting(checkpoint=checkpoint, poll_after=interval, message=status.state)


# --- rows returned by queries ------------------------------------------------------


class FetchType(StrEnum):
    """What a query task does with its rows (Kestra's fetch types)."""

    STORE = "STORE"
    FETCH = "FETCH"
    FETCH_ONE = "FETCH_ONE"
    NONE = "NONE"


class FetchOutputs(TaskOutputs):
    """Rows of a query: `rows` (FETCH), `row` (FETCH_ONE) or `uri` (STORE); `size`."""

    size: int | None = None
    rows: list[dict[str, JsonValue]] | None = None
    row: dict[str, JsonValue] | None = None
    uri: str | None = None


def plain_number(value: Decimal) -> int | float:
    """A Decimal as JSON wants it: an int when whole, else a float."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


async def fetch_rows(
    ctx: RunContext,
    rows: AsyncGenerator[dict[str, JsonValue], None],
    fetch_type: FetchType,
    file_name: str = "rows.jsonl",
) -> FetchOutputs:
    """Consume `rows` as `fetch_type` says; STORE streams them to a JSON-lines file.

    FETCH_ONE reads no further than the first row (no more pages are requested).
    """
    async with aclosing(rows):
        if fetch_type is FetchType.FETCH_ONE:
            first = await anext(rows, None)
            return FetchOutputs(size=0 if first is None else 1, row=first)
        if fetch_type is FetchType.FETCH:
            fetched = [row async for row in rows]
            return FetchOutputs(size=len(fetched), rows=fetched)
        if fetch_type is FetchType.NONE:
            return FetchOutputs(size=sum([1 async for _ in rows]))
        return await _store_rows(ctx, rows, file_name)


async def _store_rows(
    ctx: RunContext, rows: AsyncIterator[dict[str, JsonValue]], file_name: str
) -> FetchOutputs:
    # A temporary file keeps memory flat however many rows a query returns.
    fd, tmp = tempfile.mkstemp(prefix="sluice-rows-", suffix=".jsonl")
    try:
        count = 0
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            async for row in rows:
                out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                count += 1
        path = ctx.storage_path(file_name)
        uri = await asyncio.to_thread(ctx.storage.put_file, path, tmp)
    finally:
        os.unlink(tmp)
    return FetchOutputs(size=count, uri=uri)
