from __future__ import annotations

import json

import sqlalchemy as sa

from sluice.core.events import TaskRunSucceeded
from sluice.projections.runner import catch_up
from sluice.projections.task_runs import TASK_RUNS
from tests.projections.workload import Plan, record, run


def _runs(log, execution_id):
    query = sa.select(TASK_RUNS).where(TASK_RUNS.c.execution_id == execution_id)
    with log.engine.connect() as conn:
        return {
            r.task_id: r
            for r in conn.execute(query.order_by(TASK_RUNS.c.created_position))
        }


def test_task_runs_view_counts_attempts_and_keeps_last_outputs_after_a_retry(log):
    run(log, Plan("e", tasks=("success", "retry")))
    catch_up(log)
    runs = _runs(log, "e")
    assert [(r.task_id, r.state, r.attempts, r.worker) for r in runs.values()] == [
        ("task0", "SUCCESS", 1, "w1"),
        ("task1", "SUCCESS", 2, "w2"),
    ]
    assert json.loads(runs["task1"].outputs) == {"rows": 3}
    assert runs["task1"].ended_at >= runs["task1"].started_at


def test_task_runs_view_ignores_a_late_report_from_a_superseded_attempt(log):
    run(log, Plan("e", tasks=("retry",)))
    late = TaskRunSucceeded(task_run_id="e-t0", attempt=1, outputs={"stale": True})
    record(log, [("execution/e", "worker:w1", late)])
    catch_up(log)
    run_ = _runs(log, "e")["task0"]
    assert (run_.state, run_.attempts) == ("SUCCESS", 2)
    assert json.loads(run_.outputs) == {"rows": 3}


def test_task_runs_view_shows_failure_message_and_restart_attempt(log):
    run(log, Plan("f", tasks=("fail",)), Plan("r", tasks=("fail",), restart=True))
    catch_up(log)
    failed, restarted = _runs(log, "f")["task0"], _runs(log, "r")["task0"]
    assert (failed.state, failed.settled, failed.message) == ("FAILED", True, "no")
    assert (restarted.state, restarted.attempts, restarted.message) == (
        "SUCCESS",
        2,
        None,
    )


def test_task_runs_view_records_who_resumed_a_paused_task(log):
    run(log, Plan("p", tasks=("pause",), resumer="user:bob"))
    catch_up(log)
    paused = _runs(log, "p")["task0"]
    outputs = json.loads(paused.outputs)
    assert paused.state == "SUCCESS"
    assert outputs["onResume"] == {"approved": True}
    assert outputs["resumed"]["by"] == "user:bob"


def test_task_runs_view_truncates_large_outputs(log):
    run(log, Plan("big", tasks=("running",)))
    huge = TaskRunSucceeded(
        task_run_id="big-t0", attempt=1, outputs={"blob": "x" * 10_000}
    )
    record(log, [("execution/big", "worker:w1", huge)])
    catch_up(log)
    outputs = _runs(log, "big")["task0"].outputs
    assert len(outputs) == 2000
    assert outputs.startswith('{"blob":"xxx')
    assert outputs.endswith("…")
