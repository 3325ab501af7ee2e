from __future__ import annotations

import json

import pytest

from tests.projections.clirun import event_log, json_lines, sluice
from tests.projections.workload import Plan, run


@pytest.fixture
def history(db_url):
    """Five executions of two flows: labels, retries, a failure, one in flight."""
    with event_log(db_url) as log:
        run(
            log,
            Plan(
                "e1", flow_id="etl", labels={"team": "data"}, tasks=("success", "retry")
            ),
            Plan("e2", flow_id="etl", labels={"team": "ops"}, tasks=("fail",)),
            Plan(
                "e3",
                flow_id="rotate-keys",
                tasks=("pause", "success"),
                trigger_id="weekly",
            ),
            Plan("e4", flow_id="etl", tasks=("success", "running")),
            Plan("e5", flow_id="etl", labels={"team": "data"}, tasks=("success",)),
        )
    return db_url


def test_executions_list_filters_by_flow_state_and_label(history):
    listed = sluice(
        history, "executions", "list", "--flow", "etl", "--state", "success", "--json"
    )
    assert listed.exit_code == 0, listed.output
    assert [e["id"] for e in json.loads(listed.stdout)["executions"]] == ["e5", "e1"]
    labelled = sluice(history, "executions", "list", "--label", "team=data", "--json")
    assert [e["id"] for e in json.loads(labelled.stdout)["executions"]] == ["e5", "e1"]


def test_executions_list_pages_with_the_printed_cursor_until_the_end(history):
    seen, after = [], []
    for _ in range(5):
        page = json.loads(
            sluice(
                history, "executions", "list", "--limit", "2", "--json", *after
            ).stdout
        )
        seen += [e["id"] for e in page["executions"]]
        if page["next_cursor"] is None:
            break
        after = ["--after", page["next_cursor"]]
    assert seen == ["e5", "e4", "e3", "e2", "e1"]


def test_executions_list_prints_a_table_with_durations_and_the_next_cursor(history):
    result = sluice(history, "executions", "list", "--limit", "3")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "NAMESPACE", "FLOW", "STATE"]
    assert [line.split()[0] for line in lines[1:4]] == ["e5", "e4", "e3"]
    assert "weekly" in lines[3]
    assert lines[-1].startswith("-- more: --after ")


def test_executions_list_since_a_relative_time_keeps_recent_ones(history):
    recent = json.loads(
        sluice(history, "executions", "list", "--since", "1h", "--json").stdout
    )
    future = json.loads(
        sluice(history, "executions", "list", "--since", "2999-01-01", "--json").stdout
    )
    assert len(recent["executions"]) == 5
    assert future["executions"] == []


def test_executions_list_rejects_a_bad_since_with_exit_2(history):
    result = sluice(history, "executions", "list", "--since", "last tuesday")
    assert result.exit_code == 2
    assert "'last tuesday' is not a time" in result.stderr
    assert "Traceback" not in result.output


def test_executions_list_rejects_a_bad_cursor_with_exit_2(history):
    result = sluice(history, "executions", "list", "--after", "garbage!")
    assert result.exit_code == 2
    assert "not a page cursor" in result.stderr


def test_executions_show_prints_the_task_run_tree_with_attempts_and_outputs(history):
    result = sluice(history, "executions", "show", "e1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("e1  prod/etl rev 1  SUCCESS\n")
    rows = {
        line.split()[0]: line.split()
        for line in result.stdout.splitlines()
        if line.startswith("task")
    }
    assert rows["task0"][1:3] == ["SUCCESS", "1"]
    assert rows["task1"][1:3] == ["SUCCESS", "2"]
    assert '{"rows":3}' in result.stdout


def test_executions_show_json_has_the_execution_and_its_task_runs(history):
    detail = json.loads(sluice(history, "executions", "show", "e2", "--json").stdout)
    assert detail["execution"]["state"] == "FAILED"
    assert detail["execution"]["duration_ms"] >= 0
    [failed] = detail["task_runs"]
    assert (failed["state"], failed["error_type"], failed["message"]) == (
        "FAILED",
        "AccessDenied",
        "no",
    )


def test_executions_show_unknown_id_exits_2_with_a_message(history):
    result = sluice(history, "executions", "show", "nope")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: no execution 'nope'"


def test_executions_events_lists_the_raw_events_in_order(history):
    result = sluice(history, "executions", "events", "e3", "--json")
    events = json_lines(result)
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events][:3] == [
        "ExecutionCreated",
        "ExecutionStarted",
        "TaskRunCreated",
    ]
    resumed = next(e for e in events if e["type"] == "ExecutionResumed")
    assert (resumed["actor"], resumed["data"]["by"]) == ("user:bob", "user:bob")
    text = sluice(history, "executions", "events", "e3").stdout.splitlines()
    assert text[0].split() == [
        "POSITION",
        "VERSION",
        "RECORDED",
        "(UTC)",
        "TYPE",
        "ACTOR",
    ]
    assert text[1].split()[-2:] == [
        "ExecutionCreated",
        "trigger:prod/rotate-keys/weekly",
    ]


def test_executions_events_unknown_id_exits_2(history):
    result = sluice(history, "executions", "events", "nope")
    assert (result.exit_code, result.stderr.strip()) == (
        2,
        "Error: no execution 'nope'",
    )


def test_executions_logs_prints_the_task_run_log_lines(history):
    from datetime import UTC, datetime

    from sluice.core.ports import LogLine

    with event_log(history) as log:
        log.append_logs(
            [
                LogLine(
                    execution_id="e1",
                    task_run_id="e1-t0",
                    attempt=1,
                    level=20,
                    message="uploaded 3 files",
                    at=datetime.now(UTC),
                )
            ]
        )
    result = sluice(history, "executions", "logs", "e1")
    assert result.exit_code == 0, result.output
    assert "INFO  e1-t0#1  uploaded 3 files" in result.stdout
