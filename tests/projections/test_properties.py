"""Random workloads: whatever the interleaving of writes, catch-ups and crashes, the
views equal the fold of the log (core.state) and a rebuild gives the same rows."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.core.state import fold
from sluice.projections.catalog import PROJECTIONS
from sluice.projections.executions import EXECUTIONS
from sluice.projections.rebuild import rebuild
from sluice.projections.runner import ProjectionRunner
from sluice.projections.task_runs import TASK_RUNS
from tests.projections.faults import CrashError, crash_after_writes
from tests.projections.views import snapshot
from tests.projections.workload import Plan, execution_events, record

OUTCOMES = st.sampled_from(["success", "retry", "fail", "pause", "kill", "running"])


@st.composite
def workloads(draw):
    """Plans for a few executions; an interleaving of appends, catch-ups, crashes."""
    tag = uuid.uuid4().hex[:6]
    plans = []
    for i in range(draw(st.integers(1, 4))):
        plans.append(
            Plan(
                f"{tag}-{i}",
                flow_id=draw(st.sampled_from(["etl", "rotate-keys"])),
                tasks=tuple(draw(st.lists(OUTCOMES, min_size=1, max_size=3))),
                labels=draw(st.sampled_from([{}, {"team": "data"}])),
                trigger_id=draw(st.sampled_from([None, f"t{tag}"])),
                queued=draw(st.booleans()),
                restart=draw(st.booleans()),
                replay_of=f"{tag}-0" if i and draw(st.booleans()) else None,
            )
        )
    moves = draw(
        st.lists(
            st.one_of(
                st.tuples(
                    st.just("append"), st.integers(0, len(plans) - 1), st.integers(1, 6)
                ),
                st.tuples(st.just("catch_up"), st.integers(1, 9), st.just(0)),
                st.tuples(st.just("crash"), st.integers(1, 9), st.integers(1, 5)),
            ),
            max_size=25,
        )
    )
    return plans, moves, draw(st.booleans())


def _views_of(engine, execution_id):
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(EXECUTIONS).where(EXECUTIONS.c.id == execution_id)
        ).one()
        runs = conn.execute(
            sa.select(TASK_RUNS).where(TASK_RUNS.c.execution_id == execution_id)
        )
        return row, {r.task_run_id: r for r in runs}


def _assert_views_equal_fold(log, execution_id):
    state = fold(log.read_stream(f"execution/{execution_id}"))
    row, runs = _views_of(log.engine, execution_id)
    assert (row.state, row.attempts, row.started_at, row.ended_at) == (
        state.state, state.attempt_number, state.started, state.ended,
    )  # fmt: skip
    assert (row.created_at, row.labels, row.flow_id) == (
        state.created, state.labels, state.flow_id,
    )  # fmt: skip
    assert set(runs) == set(state.task_runs)
    for run_id, folded in state.task_runs.items():
        view = runs[run_id]
        assert (view.state, view.attempts, view.settled) == (
            folded.state, folded.attempt, folded.settled,
        )  # fmt: skip
        assert (view.started_at, view.ended_at, view.message or "") == (
            folded.started, folded.ended, folded.message,
        )  # fmt: skip


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(work=workloads())
def test_views_equal_the_fold_and_a_rebuild_after_any_interleaving(log, work):
    plans, moves, check_rebuild = work
    pending = {i: execution_events(p) for i, p in enumerate(plans)}
    for kind, a, b in moves:
        if kind == "append" and pending[a]:
            record(log, pending[a][:b])
            pending[a] = pending[a][b:]
        elif kind == "catch_up":
            ProjectionRunner(log, batch_size=a).run_once()
        elif kind == "crash":
            undo = crash_after_writes(
                log.engine, ("executions", "task_runs", "audit_log"), b
            )
            try:
                ProjectionRunner(log, batch_size=a).run_once()
            except CrashError:
                pass
            finally:
                undo()
    for steps in pending.values():
        if steps:
            record(log, steps)
    ProjectionRunner(log, batch_size=4).run_once()
    for plan in plans:
        _assert_views_equal_fold(log, plan.execution_id)
    if check_rebuild:  # DDL is slow on PostgreSQL: rebuild in some examples only
        before = snapshot(log.engine)
        for name in PROJECTIONS:
            rebuild(log, name)
        assert snapshot(log.engine) == before
