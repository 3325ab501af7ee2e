"""Reading the views: filtered lists with keyset pagination, one execution, the audit.

Every list is newest first and paged by a cursor (never OFFSET): executions by
`(created_at, id)`, encoded as an opaque string; the audit by log position. The rows
are msgspec Structs, so `msgspec.json.encode(page)` is the stable `--json` output.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from sluice.core.errors import ExecutionNotFoundError
from sluice.core.events import JsonValue
from sluice.projections._schema import UtcDateTime, duration_ms
from sluice.projections.audit_log import AUDIT_LOG
from sluice.projections.errors import BadQueryError
from sluice.projections.executions import EXECUTIONS
from sluice.projections.task_runs import TASK_RUNS
from sluice.projections.triggers import TRIGGERS


class ExecutionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One execution as listed (`sluice executions list --json`)."""

    id: str
    namespace: str
    flow_id: str
    revision: int
    state: str
    trigger_type: str | None
    trigger_id: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    labels: dict[str, str]
    attempts: int
    parent_execution_id: str | None
    original_execution_id: str | None


class TaskRunRow(msgspec.Struct, frozen=True, kw_only=True):
    """One task run of an execution (`sluice executions show --json`)."""

    task_run_id: str
    task_id: str
    parent_task_run_id: str | None
    value: JsonValue
    iteration: int | None
    state: str
    attempts: int
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    worker: str | None
    outputs: str | None
    error_type: str | None
    message: str | None
    child_execution_id: str | None


class ExecutionDetail(msgspec.Struct, frozen=True, kw_only=True):
    """An execution and its task runs, in creation order."""

    execution: ExecutionRow
    task_runs: list[TaskRunRow]


class ExecutionPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of executions; pass `next_cursor` as `after` for the next one."""

    executions: list[ExecutionRow]
    next_cursor: str | None


class ExecutionFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which executions to list; every given field must match."""

    namespace: str | None = None
    flow_id: str | None = None
    states: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    labels: dict[str, str] = {}


def list_executions(
    engine: sa.Engine,
    where: ExecutionFilter,
    limit: int = 50,
    after: str | None = None,
) -> ExecutionPage:
    """Executions matching `where`, newest first, after the cursor `after`."""
    t = EXECUTIONS
    query = sa.select(t).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit + 1)
    if where.namespace:
        query = query.where(t.c.namespace == where.namespace)
    if where.flow_id:
        query = query.where(t.c.flow_id == where.flow_id)
    if where.states:
        query = query.where(t.c.state.in_([s.upper() for s in where.states]))
    if where.since:
        query = query.where(t.c.created_at >= sa.literal(where.since, UtcDateTime))
    if where.until:
        query = query.where(t.c.created_at < sa.literal(where.until, UtcDateTime))
    for key, value in where.labels.items():
        query = query.where(_label_is(engine.dialect.name, key, value))
    if after:
        at, last_id = decode_cursor(after)
        keyset = sa.tuple_(t.c.created_at, t.c.id) < sa.tuple_(
            sa.literal(at, UtcDateTime), sa.literal(last_id)
        )
        query = query.where(keyset)
    with engine.connect() as conn:
        rows = [_execution(r) for r in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
    return ExecutionPage(executions=rows, next_cursor=cursor)


def get_execution(engine: sa.Engine, execution_id: str) -> ExecutionDetail:
    """One execution and its task runs; `ExecutionNotFoundError` if there is none."""
    runs = (
        sa.select(TASK_RUNS)
        .where(TASK_RUNS.c.execution_id == execution_id)
        .order_by(TASK_RUNS.c.created_position)
    )
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(EXECUTIONS).where(EXECUTIONS.c.id == execution_id)
        ).first()
        if row is None:
            raise ExecutionNotFoundError(f"no execution {execution_id!r}")
        task_runs = [_task_run(r) for r in conn.execute(runs)]
    return ExecutionDetail(execution=_execution(row), task_runs=task_runs)


class AuditRow(msgspec.Struct, frozen=True, kw_only=True):
    """One audited action (`sluice audit --json`)."""

    position: int
    at: datetime
    actor: str
    action: str
    execution_id: str | None
    namespace: str | None
    flow_id: str | None
    detail: dict[str, JsonValue]
    address: str | None


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the audit; pass `next_after` as `after` for the next one."""

    entries: list[AuditRow]
    next_after: int | None


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which actions to list; every given field must match.

    `action` matches itself and its sub-actions (`replay` matches `replay.view`); an
    `actor` without a kind (`alice`) means a user (`user:alice`).
    """

    actor: str | None = None
    execution_id: str | None = None
    flow_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def search_audit(
    engine: sa.Engine, where: AuditFilter, limit: int = 50, after: int | None = None
) -> AuditPage:
    """Audited actions matching `where`, newest first, before position `after`."""
    t = AUDIT_LOG
    query = sa.select(t).order_by(t.c.position.desc()).limit(limit + 1)
    if where.actor:
        actor = where.actor if ":" in where.actor else f"user:{where.actor}"
        query = query.where(t.c.actor == actor)
    if where.execution_id:
        query = query.where(t.c.execution_id == where.execution_id)
    if where.flow_id:
        query = query.where(t.c.flow_id == where.flow_id)
    if where.action:
        query = query.where(
            (t.c.action == where.action)
            | t.c.action.startswith(where.action + ".", autoescape=True)
        )
    if where.since:
        query = query.where(t.c.at >= sa.literal(where.since, UtcDateTime))
    if where.until:
        query = query.where(t.c.at < sa.literal(where.until, UtcDateTime))
    if after is not None:
        query = query.where(t.c.position < after)
    with engine.connect() as conn:
        rows = [AuditRow(**r._asdict()) for r in conn.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(entries=rows, next_after=rows[-1].position if more else None)


class TriggerRow(msgspec.Struct, frozen=True, kw_only=True):
    """One trigger's fires, cursor and failures."""

    namespace: str
    flow_id: str
    trigger_id: str
    last_fired_at: datetime | None
    last_scheduled_for: datetime | None
    last_execution_id: str | None
    fire_count: int
    cursor: JsonValue
    cursor_at: datetime | None
    last_failure_at: datetime | None
    last_failure: str | None
    failure_count: int


def list_triggers(
    engine: sa.Engine, namespace: str | None = None, flow_id: str | None = None
) -> list[TriggerRow]:
    """The triggers seen in the log, by namespace, flow and id."""
    t = TRIGGERS
    query = sa.select(t).order_by(t.c.namespace, t.c.flow_id, t.c.trigger_id)
    if namespace:
        query = query.where(t.c.namespace == namespace)
    if flow_id:
        query = query.where(t.c.flow_id == flow_id)
    with engine.connect() as conn:
        return [TriggerRow(**r._asdict()) for r in conn.execute(query)]


def _label_is(dialect: str, key: str, value: str) -> sa.ColumnElement[bool]:
    labels = EXECUTIONS.c.labels
    if dialect == "postgresql":
        return sa.type_coerce(labels, JSONB).contains({key: value})  # GIN-indexed @>
    return labels[key].as_string() == value


def _execution(row: sa.Row[tuple[object, ...]]) -> ExecutionRow:
    values = row._asdict()
    return ExecutionRow(
        **values,
        duration_ms=duration_ms(row.started_at or row.created_at, row.ended_at),
    )


def _task_run(row: sa.Row[tuple[object, ...]]) -> TaskRunRow:
    fields = set(TaskRunRow.__struct_fields__)
    values = {k: v for k, v in row._asdict().items() if k in fields}
    return TaskRunRow(**values, duration_ms=duration_ms(row.started_at, row.ended_at))


def encode_cursor(at: datetime, execution_id: str) -> str:
    """An opaque page cursor for the keyset (created_at, id)."""
    raw = msgspec.json.encode([at.astimezone(UTC).isoformat(), execution_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The keyset of a cursor; `BadQueryError` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, execution_id = msgspec.json.decode(raw, type=tuple[datetime, str])
    except (ValueError, msgspec.DecodeError) as err:
        raise BadQueryError(f"not a page cursor: {cursor!r}") from err
    return at, execution_id


_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, now: datetime) -> datetime:
    """A point in time: relative to `now` (`30m`, `24h`, `7d`, `2w`) or ISO 8601.

    A date alone means its midnight UTC; a time without an offset is UTC.
    `BadQueryError` (a ValueError) if `text` is neither.
    """
    if match := _RELATIVE.match(text):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise BadQueryError(
            f"{text!r} is not a time: use 30m, 24h, 7d, 2w or an ISO date (2025-01-31)"
        ) from err
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
