from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

from tests.projections.clirun import event_log, json_lines, sluice
from tests.projections.workload import Plan, record, run, trigger_noise


def test_events_tail_filters_by_type_and_stream_from_a_position(db_url):
    with event_log(db_url) as log:
        run(log, Plan("a"), Plan("b", tasks=("retry",)))
        record(log, trigger_noise("prod", "etl", "s3", 2))
    ended = json_lines(
        sluice(
            db_url,
            "events",
            "tail",
            "--after",
            "0",
            "--type",
            "ExecutionEnded",
            "--json",
        )
    )
    assert [(e["stream"], e["data"]["state"]) for e in ended] == [
        ("execution/a", "SUCCESS"),
        ("execution/b", "SUCCESS"),
    ]
    b_only = json_lines(
        sluice(
            db_url,
            "events",
            "tail",
            "--after",
            "0",
            "--stream",
            "execution/b",
            "--json",
        )
    )
    assert {e["stream"] for e in b_only} == {"execution/b"}
    assert [e["position"] for e in b_only] == sorted(e["position"] for e in b_only)


def test_events_tail_without_after_shows_the_last_events(db_url):
    with event_log(db_url) as log:
        record(log, trigger_noise("prod", "etl", "s3", 30))
        head = log.head_position()
    lines = sluice(db_url, "events", "tail", "--last", "3").stdout.splitlines()
    assert [int(line.split()[0]) for line in lines] == [head - 2, head - 1, head]
    assert (
        "TriggerCursorAdvanced" in lines[-1] or "TriggerEvaluationFailed" in lines[-1]
    )


def test_events_tail_rejects_an_unknown_type_with_exit_2(db_url):
    result = sluice(db_url, "events", "tail", "--type", "ExecutionExploded")
    assert result.exit_code == 2
    assert "unknown ExecutionExploded (known: " in result.stderr


def test_events_tail_follow_prints_new_events_and_exits_0_on_ctrl_c(db_url):
    with event_log(db_url) as log:
        run(log, Plan("before"))
        start = log.head_position()
    entry = "from sluice.cli.main import main; main()"
    args = [
        "--db",
        db_url,
        "events",
        "tail",
        "--follow",
        "--after",
        str(start),
        "--json",
    ]
    command = [sys.executable, "-c", entry, *args]
    follower = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        with event_log(db_url) as log:
            time.sleep(1.0)  # the follower is polling by now
            run(log, Plan("after"))
        ready, _, _ = select.select([follower.stdout], [], [], 10)
        line = follower.stdout.readline() if ready else ""
    finally:
        os.kill(follower.pid, signal.SIGINT)
        out, err = follower.communicate(timeout=10)
    assert '"stream":"execution/after"' in line
    assert '"execution/before"' not in line + out
    assert follower.returncode == 0, err
