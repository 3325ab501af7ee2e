from __future__ import annotations

import json

from tests.projections.clirun import event_log, sluice
from tests.projections.workload import Plan, run


def test_projections_status_shows_lag_until_a_read_catches_up(db_url):
    with event_log(db_url) as log:
        run(log, Plan("a"), Plan("b", tasks=("retry",)))
        head = log.head_position()
    before = json.loads(sluice(db_url, "projections", "status", "--json").stdout)
    assert {s["name"]: s["lag"] for s in before} == dict.fromkeys(
        ("executions", "task_runs", "audit_log", "triggers"), head
    )
    sluice(db_url, "executions", "list")
    after = sluice(db_url, "projections", "status")
    lines = after.stdout.splitlines()
    assert lines[0].split() == [
        "PROJECTION",
        "POSITION",
        "HEAD",
        "LAG",
        "UPDATED",
        "(UTC)",
    ]
    assert all(line.split()[1:4] == [str(head), str(head), "0"] for line in lines[1:])


def test_projections_rebuild_recomputes_a_view_and_audits_who_asked(db_url):
    with event_log(db_url) as log:
        run(log, Plan("a"), Plan("b", tasks=("fail",)))
    listed = sluice(db_url, "executions", "list", "--json").stdout
    result = sluice(db_url, "projections", "rebuild", "executions", "--as", "alice")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("rebuilt executions: ")
    assert sluice(db_url, "executions", "list", "--json").stdout == listed
    audit = json.loads(
        sluice(db_url, "audit", "--action", "projection", "--json").stdout
    )
    assert [(e["actor"], e["detail"]) for e in audit["entries"]] == [
        ("user:alice", {"name": "executions"})
    ]


def test_projections_rebuild_of_an_unknown_view_exits_2(db_url):
    result = sluice(db_url, "projections", "rebuild", "nope")
    assert result.exit_code == 2
    assert (
        "no projection 'nope' (known: executions, task_runs, audit_log, triggers)"
        in result.stderr
    )
