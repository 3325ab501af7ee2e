from __future__ import annotations

import asyncio
import threading

import pytest
import sqlalchemy as sa

from sluice.projections._schema import CHECKPOINTS
from sluice.projections.executions import EXECUTIONS
from sluice.projections.runner import ProjectionRunner, catch_up
from tests.projections.faults import CrashError, crash_after_writes
from tests.projections.workload import Plan, run


def _snapshot(engine):
    with engine.connect() as conn:
        rows = sorted(tuple(r) for r in conn.execute(sa.select(EXECUTIONS)))
        checkpoint = conn.execute(
            sa.select(CHECKPOINTS.c.position).where(CHECKPOINTS.c.name == "executions")
        ).scalar()
    return rows, checkpoint


def test_runner_writes_nothing_when_it_crashes_between_view_write_and_commit(log):
    run(log, Plan("a"), Plan("b", tasks=("retry", "success")))
    catch_up(log)
    before = _snapshot(log.engine)
    run(log, Plan("c", tasks=("fail",), restart=True))
    undo = crash_after_writes(log.engine, {"executions"})
    try:
        with pytest.raises(CrashError):
            catch_up(log)
    finally:
        undo()
    assert _snapshot(log.engine) == before
    catch_up(log)
    rows, checkpoint = _snapshot(log.engine)
    assert checkpoint == log.head_position()
    by_id = {r[0]: r for r in rows}
    assert set(by_id) == {"a", "b", "c"}
    with log.engine.connect() as conn:
        c = conn.execute(sa.select(EXECUTIONS).where(EXECUTIONS.c.id == "c")).one()
    assert (c.state, c.attempts) == ("SUCCESS", 2)


def test_runners_racing_on_the_same_log_apply_each_event_once(log):
    for i in range(8):
        run(log, Plan(f"x{i}", tasks=("success", "retry")))
    runners = [ProjectionRunner(log, batch_size=7) for _ in range(3)]
    for r in runners:
        r.ensure()
    errors: list[BaseException] = []

    def go(runner):
        try:
            runner.run_once()
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=go, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    status = runners[0].status()
    assert {s.name: s.lag for s in status}["executions"] == 0
    with log.engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).select_from(EXECUTIONS)
        ).scalar()
    assert count == 8


async def test_run_forever_keeps_views_current_until_stopped(log):
    runner = ProjectionRunner(log)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run_forever(stop, interval=0.02))
    run(log, Plan("late", tasks=("running",)))
    for _ in range(200):
        await asyncio.sleep(0.02)
        if all(s.lag == 0 for s in runner.status()):
            break
    stop.set()
    await asyncio.wait_for(task, 5)
    with log.engine.connect() as conn:
        state = conn.execute(
            sa.select(EXECUTIONS.c.state).where(EXECUTIONS.c.id == "late")
        ).scalar()
    assert state == "RUNNING"


def test_catch_up_rebuilds_a_view_whose_schema_changed(log):
    run(log, Plan("a"), Plan("b", tasks=("fail",)))
    catch_up(log)
    before = _snapshot(log.engine)
    with log.engine.begin() as conn:  # as if the rows came from an older definition
        conn.execute(EXECUTIONS.update().values(state="STALE"))
        conn.execute(
            CHECKPOINTS.update()
            .where(CHECKPOINTS.c.name == "executions")
            .values(schema_hash="an older shape")
        )
    catch_up(log)
    assert _snapshot(log.engine) == before
