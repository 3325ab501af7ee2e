from __future__ import annotations

import sqlalchemy as sa

from sluice.projections.executions import EXECUTIONS
from sluice.projections.runner import catch_up
from tests.projections.workload import Plan, run


def _rows(log):
    with log.engine.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(EXECUTIONS))}


def test_executions_view_shows_each_execution_state_after_catch_up(log):
    run(
        log,
        Plan("e-ok", tasks=("success", "retry")),
        Plan("e-fail", tasks=("success", "fail")),
        Plan("e-kill", tasks=("kill",)),
        Plan("e-run", tasks=("success", "running")),
        Plan("e-pause", tasks=("pause", "success")),
    )
    assert catch_up(log) > 0
    rows = _rows(log)
    assert {k: r.state for k, r in rows.items()} == {
        "e-ok": "SUCCESS",
        "e-fail": "FAILED",
        "e-kill": "KILLED",
        "e-run": "RUNNING",
        "e-pause": "SUCCESS",
    }
    assert rows["e-run"].ended_at is None
    assert rows["e-ok"].ended_at >= rows["e-ok"].started_at >= rows["e-ok"].created_at


def test_executions_view_records_trigger_labels_attempts_and_replay_origin(log):
    run(
        log,
        Plan(
            "e1",
            flow_id="rotate-keys",
            labels={"team": "sec"},
            trigger_id="nightly",
            tasks=("fail",),
            restart=True,
        ),
        Plan("e2", replay_of="e1"),
        Plan("e3", replay_of="e2"),
    )
    catch_up(log)
    rows = _rows(log)
    e1 = rows["e1"]
    assert (e1.flow_id, e1.labels, e1.trigger_id, e1.trigger_type) == (
        "rotate-keys",
        {"team": "sec"},
        "nightly",
        "core.Schedule",
    )
    assert (e1.state, e1.attempts) == ("SUCCESS", 2)
    assert rows["e2"].original_execution_id == "e1"
    assert rows["e3"].original_execution_id == "e1"


def test_catch_up_applies_only_new_events_when_called_again(log):
    run(log, Plan("a"))
    first = catch_up(log)
    assert catch_up(log) == 0
    run(log, Plan("b", tasks=("running",)))
    assert catch_up(log) > 0
    assert first > 0
    assert set(_rows(log)) == {"a", "b"}
