"""The three replays, driven through the CLI on a flow that fails at its third task."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sluice.cli.main import cli
from sluice.eventstore import open_event_log
from tests.engine.conftest import flow_source

FLOW = """
    id: three-steps
    namespace: ops
    inputs:
      - id: flag
        type: STRING
      - id: mode
        type: STRING
        defaults: bad
    tasks:
      - id: extract
        type: core.Return
        format: rows
      - id: transform
        type: core.Return
        format: "{{ outputs.extract.value }}-t"
      - id: load
        type: script.Commands
        commands:
          - test -f "{{ inputs.flag }}" || test "{{ inputs.mode }}" = good
          - echo '::{"outputs":{"loaded":"{{ outputs.transform.value }}"}}::'
"""


@pytest.fixture
def sluice(db_url, tmp_path):
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(
            cli,
            ["--db", db_url, "--data-dir", str(tmp_path / "d"), *args],
            catch_exceptions=False,
        )
        return result, result.output

    return invoke


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def failed_run(sluice, tmp_path) -> tuple[str, str]:
    path = tmp_path / "three.yaml"
    path.write_text(flow_source(FLOW))
    flag = tmp_path / "flag"
    result, out = sluice("run", str(path), "--input", f"flag={flag}", "--json")
    assert result.exit_code == 1, out
    body = last_json(out)
    load = next(r for r in body["taskRuns"] if r["taskId"] == "load")
    assert load["state"] == "FAILED"
    return body["id"], str(flag)


def test_replay_shows_the_state_at_any_event_without_side_effects(
    sluice, tmp_path, db_url
):
    execution_id, _ = failed_run(sluice, tmp_path)
    log = open_event_log(db_url)
    events = log.read_stream(f"execution/{execution_id}")
    log.close()
    created_load = next(
        e.version
        for e in events
        if e.type == "TaskRunCreated" and e.event.task_id == "load"
    )
    result, out = sluice(
        "executions", "replay", execution_id, "--to", str(created_load - 1), "--json"
    )
    assert result.exit_code == 0, out
    assert "load" not in json.dumps(last_json(out).get("taskRuns", []))
    full, out_full = sluice("executions", "replay", execution_id, "--json")
    assert full.exit_code == 0, out_full
    assert "FAILED" in out_full
    log = open_event_log(db_url)
    unchanged = log.read_stream(f"execution/{execution_id}")
    audited = [
        e for e in log.read_stream("audit") if e.event.execution_id == execution_id
    ]
    log.close()
    assert [e.hash for e in unchanged] == [e.hash for e in events]
    assert len(audited) == 2


def test_restart_reruns_only_the_failed_task_and_keeps_the_failed_attempt(
    sluice, tmp_path, db_url
):
    execution_id, flag = failed_run(sluice, tmp_path)
    open(flag, "w").close()
    result, out = sluice(
        "executions", "restart", execution_id, "--as", "oncall", "--wait", "--json"
    )
    assert result.exit_code == 0, out
    body = last_json(out)
    assert body["id"] == execution_id and body["state"] == "SUCCESS"
    runs = {r["taskId"]: r for r in body["taskRuns"]}
    assert runs["load"]["attempts"] == 2
    assert runs["load"]["outputs"]["vars"] == {"loaded": "rows-t"}
    assert runs["extract"]["attempts"] == 1
    log = open_event_log(db_url)
    events = log.read_stream(f"execution/{execution_id}")
    log.close()
    restarted = [e for e in events if e.type == "ExecutionRestarted"]
    assert len(restarted) == 1 and restarted[0].actor == "user:oncall"
    assert sum(e.type == "TaskRunFailed" for e in events) == 1
    started = [e.event.task_run_id for e in events if e.type == "TaskRunStarted"]
    assert started.count("extract") == 1 and started.count("load") == 2


def test_replay_from_a_task_with_new_inputs_keeps_earlier_results(
    sluice, tmp_path, db_url
):
    execution_id, _ = failed_run(sluice, tmp_path)
    result, out = sluice(
        "executions",
        "replay-from",
        execution_id,
        "--task",
        "load",
        "--input",
        "mode=good",
        "--as",
        "bob",
        "--wait",
        "--json",
    )
    assert result.exit_code == 0, out
    body = last_json(out)
    assert body["state"] == "SUCCESS" and body["id"] != execution_id
    log = open_event_log(db_url)
    events = log.read_stream(f"execution/{body['id']}")
    original = log.read_stream(f"execution/{execution_id}")
    log.close()
    created = events[0].event
    assert created.origin.execution_id == execution_id
    assert created.origin.task_id == "load" and created.origin.by == "bob"
    assert events[0].actor == "user:bob"
    assert created.inputs["mode"] == "good"
    worker_runs = {
        e.event.task_run_id
        for e in events
        if e.type == "TaskRunStarted" and e.actor.startswith("worker:")
    }
    assert worker_runs == {"load"}
    runs = {r["taskId"]: r for r in body["taskRuns"]}
    assert runs["transform"]["outputs"] == {"value": "rows-t"}
    assert (
        original[-1].type == "ExecutionEnded" and original[-1].event.state == "FAILED"
    )


def test_restart_of_a_successful_execution_is_refused(sluice, tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        flow_source("""
        id: fine
        namespace: ops
        tasks:
          - id: a
            type: core.Return
            format: a
    """)
    )
    result, out = sluice("run", str(path), "--json")
    assert result.exit_code == 0, out
    execution_id = last_json(out)["id"]
    again, message = sluice("executions", "restart", execution_id)
    assert again.exit_code == 2
    assert "SUCCESS" in message
