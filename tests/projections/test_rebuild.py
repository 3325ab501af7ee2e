from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from sluice.projections._schema import CHECKPOINTS
from sluice.projections.catalog import PROJECTIONS
from sluice.projections.errors import UnknownProjectionError
from sluice.projections.rebuild import rebuild
from sluice.projections.runner import ProjectionRunner, catch_up
from tests.projections.views import snapshot
from tests.projections.workload import (
    Plan,
    deploy,
    operator_action,
    record,
    run,
    trigger_noise,
)


def _mixed_history(log, prefix="", count=6):
    record(log, deploy("prod", f"{prefix}etl"))
    record(log, trigger_noise("prod", f"{prefix}etl", "s3", 4))
    shapes = (("success", "retry"), ("fail",), ("pause", "kill"))
    for i in range(count):
        plan = Plan(
            f"{prefix}e{i}",
            flow_id=f"{prefix}etl",
            trigger_id="s3" if i % 2 else None,
            tasks=shapes[i % 3],
            restart=i % 3 == 1,
            labels={"i": str(i)},
        )
        run(log, plan)
    record(log, operator_action("replay.view", "user:erin", f"{prefix}e0"))


@pytest.mark.parametrize("name", list(PROJECTIONS))
def test_rebuild_gives_the_same_rows_as_incremental_catch_up(log, name):
    _mixed_history(log)
    catch_up(log)
    before = snapshot(log.engine)
    report = rebuild(log, name)
    assert report.position == log.head_position()
    assert snapshot(log.engine) == before
    with log.engine.connect() as conn:
        names = {r.name for r in conn.execute(sa.select(CHECKPOINTS.c.name))}
        tables = set(sa.inspect(conn).get_table_names())
    assert not any(n.endswith("__rebuild") for n in names | tables)


def test_rebuild_keeps_the_indexes_and_can_run_again(log):
    _mixed_history(log)
    catch_up(log)
    rebuild(log, "executions")
    rebuild(log, "executions")
    with log.engine.connect() as conn:
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("executions")}
    assert {"ix_executions_flow_state", "ix_executions_created"} <= indexes


def test_rebuild_loses_no_event_appended_while_it_runs(log):
    _mixed_history(log, "a")
    catch_up(log)
    stop = threading.Event()
    written = []

    def writer():
        i = 0
        while not stop.is_set() and i < 50:
            run(log, Plan(f"w{i}", tasks=("success",)))
            written.append(f"w{i}")
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        rebuild(log, "executions", batch_size=5)
        rebuild(log, "task_runs", batch_size=5)
    finally:
        stop.set()
        thread.join()
    catch_up(log)
    rebuilt = snapshot(log.engine)
    fresh = ProjectionRunner(log)  # recompute every view from zero, for comparison
    for name in PROJECTIONS:
        rebuild(log, name)
    assert len(written) > 0
    assert snapshot(log.engine) == rebuilt
    assert set(written) <= {row[0] for row in rebuilt["executions"]}
    assert all(s.lag == 0 for s in fresh.status())


def test_rebuild_records_who_asked_for_it(log):
    run(log, Plan("e"))
    rebuild(log, "triggers", actor="user:alice")
    events = log.read_stream("audit")
    assert [(e.actor, e.event.action, e.event.detail) for e in events] == [
        ("user:alice", "projection.rebuild", {"name": "triggers"})
    ]


def test_rebuild_of_an_unknown_projection_names_the_known_ones(log):
    known = "known: executions, task_runs, audit_log, triggers"
    with pytest.raises(UnknownProjectionError, match=known):
        rebuild(log, "nope")
