"""Time travel: an execution's state re-folded from its events up to a point.

`replay_execution` folds the execution's stream with `sluice.core.state.fold` up to
version N or recorded time T and changes nothing but the audit: it records who looked
(`OperatorActionRecorded(action="replay.view")` in stream `audit`). Folding the whole
history must give what the views hold; any difference is reported, not hidden.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
import sqlalchemy as sa

from sluice.core.events import (
    JsonValue,
    NewEvent,
    OperatorActionRecorded,
    RecordedEvent,
)
from sluice.core.ports import ANY_VERSION
from sluice.core.state import ExecutionState, fold
from sluice.projections.errors import BadQueryError
from sluice.projections.executions import EXECUTIONS
from sluice.projections.log_view import execution_events
from sluice.projections.runner import SqlEventLog, catch_up
from sluice.projections.task_runs import TASK_RUNS


class ReplayResult(msgspec.Struct, frozen=True, kw_only=True):
    """An execution's state as of one of its events (`executions replay --json`).

    Attributes:
        execution_id: the execution.
        version: the last event folded (1-based, within the execution's stream).
        versions: how many events the execution has in all.
        recorded_at: when the last folded event was recorded.
        complete: whether the whole history was folded.
        state: the folded state (`sluice.core.state.ExecutionState` as JSON).
        mismatches: with `complete`, every way the views differ from the fold.
    """

    execution_id: str
    version: int
    versions: int
    recorded_at: datetime
    complete: bool
    state: dict[str, JsonValue]
    mismatches: list[str]


def replay_execution(
    log: SqlEventLog,
    execution_id: str,
    actor: str,
    to_version: int | None = None,
    at: datetime | None = None,
    address: str | None = None,
) -> ReplayResult:
    """Fold `execution_id` up to `to_version` or `at` (all of it by default), audited.

    Raises:
        ExecutionNotFoundError: the execution has no events.
        BadQueryError: `to_version` is outside the stream, or `at` precedes it.
    """
    events = execution_events(log, execution_id)
    chosen = _up_to(events, to_version, at)
    state = fold(chosen)
    complete = len(chosen) == len(events)
    mismatches = _compare_with_views(log, state) if complete else []
    detail: dict[str, JsonValue] = {"version": chosen[-1].version}
    if to_version is not None:
        detail["to_version"] = to_version
    if at is not None:
        detail["at"] = at.isoformat()
    audited = OperatorActionRecorded(
        action="replay.view", execution_id=execution_id, detail=detail, address=address
    )
    log.append("audit", [NewEvent(event=audited, actor=actor)], ANY_VERSION)
    return ReplayResult(
        execution_id=execution_id, version=chosen[-1].version, versions=len(events),
        recorded_at=chosen[-1].recorded_at, complete=complete,
        state=msgspec.to_builtins(state), mismatches=mismatches,
    )  # fmt: skip


def _up_to(
    events: list[RecordedEvent], to_version: int | None, at: datetime | None
) -> list[RecordedEvent]:
    if to_version is not None and not 1 <= to_version <= len(events):
        raise BadQueryError(
            f"--to must be between 1 and {len(events)} (the last event)"
        )
    chosen = [
        e for e in events
        if (to_version is None or e.version <= to_version)
        and (at is None or e.recorded_at <= at)
    ]  # fmt: skip
    if not chosen:
        raise BadQueryError(
            f"the execution did not exist yet at {at:%Y-%m-%d %H:%M:%S%z}"
        )
    return chosen


def _compare_with_views(log: SqlEventLog, state: ExecutionState) -> list[str]:
    """How the executions and task_runs views differ from the folded end state."""
    catch_up(log)
    with log.engine.connect() as conn:
        row = conn.execute(
            sa.select(EXECUTIONS).where(EXECUTIONS.c.id == state.id)
        ).first()
        runs = {
            r.task_run_id: r
            for r in conn.execute(
                sa.select(TASK_RUNS).where(TASK_RUNS.c.execution_id == state.id)
            )
        }
    if row is None:
        return ["the executions view has no row for it"]
    found = []
    if (row.state, row.attempts) != (state.state, state.attempt_number):
        found.append(
            f"executions view: {row.state} attempt {row.attempts}, "
            f"fold: {state.state} attempt {state.attempt_number}"
        )
    for run_id in sorted(set(runs) | set(state.task_runs)):
        view, folded = runs.get(run_id), state.task_runs.get(run_id)
        seen = (view.state, view.attempts) if view else None
        want = (folded.state, folded.attempt) if folded else None
        if seen != want:
            found.append(f"task run {run_id}: view {seen}, fold {want}")
    return found
