from __future__ import annotations

import json

import sqlalchemy as sa

from sluice.projections.executions import EXECUTIONS
from tests.projections.clirun import event_log, sluice
from tests.projections.workload import Plan, run


def _replay(db_url, *args):
    result = sluice(db_url, "executions", "replay", *args)
    return result, (
        json.loads(result.stdout) if "--json" in args and result.stdout else None
    )


def test_replay_to_a_version_shows_the_state_at_that_event(db_url):
    with event_log(db_url) as log:
        run(log, Plan("e", tasks=("success", "retry")))
    result, replay = _replay(db_url, "e", "--to", "8", "--json")
    assert result.exit_code == 0, result.output
    assert (replay["version"], replay["complete"]) == (8, False)
    runs = replay["state"]["task_runs"]
    assert replay["state"]["state"] == "RUNNING"
    assert {k: (r["state"], r["attempt"]) for k, r in runs.items()} == {
        "e-t0": ("SUCCESS", 1),
        "e-t1": ("FAILED", 1),
    }


def test_replay_of_the_whole_history_matches_the_views(db_url):
    with event_log(db_url) as log:
        run(log, Plan("e", tasks=("fail",), restart=True))
    result, replay = _replay(db_url, "e", "--json")
    assert result.exit_code == 0, result.output
    assert (replay["complete"], replay["mismatches"]) == (True, [])
    assert (replay["state"]["state"], replay["state"]["attempt_number"]) == (
        "SUCCESS",
        2,
    )
    text = sluice(db_url, "executions", "replay", "e").stdout
    assert text.splitlines()[0].endswith("SUCCESS")
    assert "(the whole history folds to what the views hold)" in text


def test_replay_at_a_time_before_the_execution_exits_2(db_url):
    with event_log(db_url) as log:
        run(log, Plan("e"))
    result, _ = _replay(db_url, "e", "--at", "2000-01-01")
    assert result.exit_code == 2
    assert "did not exist yet" in result.stderr
    beyond, _ = _replay(db_url, "e", "--to", "99")
    assert (beyond.exit_code, beyond.stderr.strip()) == (
        2,
        "Error: --to must be between 1 and 6 (the last event)",
    )


def test_replay_reports_a_view_that_differs_from_the_fold(db_url):
    with event_log(db_url) as log:
        run(log, Plan("e"))
    sluice(db_url, "executions", "list")
    with event_log(db_url) as log, log.engine.begin() as conn:
        conn.execute(EXECUTIONS.update().values(state="RUNNING"))  # a corrupted view
    result, _ = _replay(db_url, "e")
    assert result.exit_code == 1
    assert (
        "MISMATCH: executions view: RUNNING attempt 1, fold: SUCCESS attempt 1"
        in result.stderr
    )


def test_replay_is_audited_with_who_looked(db_url):
    with event_log(db_url) as log:
        run(log, Plan("e"))
    _replay(db_url, "e", "--to", "2", "--as", "erin")
    audit = json.loads(sluice(db_url, "audit", "--execution", "e", "--json").stdout)
    [entry] = audit["entries"]
    assert (entry["actor"], entry["action"], entry["detail"]) == (
        "user:erin",
        "replay.view",
        {"version": 2, "to_version": 2},
    )
    with event_log(db_url) as log, log.engine.connect() as conn:
        state = conn.execute(sa.select(EXECUTIONS.c.state)).scalar()
    assert state == "SUCCESS"
