"""The CLI contract: `sluice run`, `executions resume`, `flow validate`, exit codes, JSON."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sluice.cli.main import cli
from tests.engine.conftest import flow_source


@pytest.fixture
def sluice(db_url, tmp_path):
    """Invoke the real CLI against this test's database."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(
            cli,
            ["--db", db_url, "--data-dir", str(tmp_path / "data"), *args],
            catch_exceptions=False,
        )

    return invoke


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(flow_source(text))
    return str(path)


def test_run_json_prints_the_execution_and_exits_zero(sluice, tmp_path):
    path = write(
        tmp_path,
        "ok.yaml",
        """
        id: ok
        namespace: demo
        inputs:
          - id: n
            type: INT
        tasks:
          - id: sq
            type: core.Return
            format: "{{ inputs.n * inputs.n }}"
    """,
    )
    result = sluice("run", path, "--input", "n=7", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output.strip().splitlines()[-1])
    assert body["state"] == "SUCCESS" and body["flowId"] == "ok"
    assert body["taskRuns"][0]["outputs"] == {"value": 49}
    assert body["taskRuns"][0]["attempts"] == 1


def test_run_shows_live_progress_and_exits_one_on_failure(sluice, tmp_path):
    path = write(
        tmp_path,
        "fail.yaml",
        """
        id: fail
        namespace: demo
        tasks:
          - id: say
            type: core.Log
            message: about to fail
          - id: boom
            type: core.Fail
            errorMessage: no luck
    """,
    )
    result = sluice("run", path)
    assert result.exit_code == 1
    assert "about to fail" in result.output
    assert "boom attempt 1 failed: no luck" in result.output
    assert "FAILED" in result.output


def test_invalid_flow_exits_two_listing_every_problem_with_lines(sluice, tmp_path):
    path = write(
        tmp_path,
        "bad.yaml",
        """
        id: bad
        namespace: demo
        tasks:
          - id: a
            type: core.Nope
          - id: a
            type: core.Log
    """,
    )
    result = sluice("run", path)
    assert result.exit_code == 2
    assert "bad.yaml:5: tasks[0].type: unknown task type 'core.Nope'" in result.output
    assert "duplicate task id 'a'" in result.output
    assert "tasks[1].message: Field required" in result.output
    validate = sluice("flow", "validate", path)
    assert validate.exit_code == 2


def test_invalid_inputs_exit_two_before_anything_runs(sluice, tmp_path):
    path = write(
        tmp_path,
        "inp.yaml",
        """
        id: inp
        namespace: demo
        inputs:
          - id: n
            type: INT
        tasks:
          - id: a
            type: core.Return
            format: x
    """,
    )
    result = sluice("run", path, "--input", "n=seven")
    assert result.exit_code == 2
    assert "n" in result.output


def test_paused_run_exits_three_and_resume_wait_finishes_it(sluice, tmp_path):
    path = write(
        tmp_path,
        "gate.yaml",
        """
        id: gate
        namespace: ops
        tasks:
          - id: approve
            type: core.Pause
            onResume:
              - id: reason
                type: STRING
          - id: done
            type: core.Return
            format: "{{ outputs.approve.onResume.reason }}"
    """,
    )
    first = sluice("run", path, "--json")
    assert first.exit_code == 3
    execution_id = json.loads(first.output.strip().splitlines()[-1])["id"]
    resumed = sluice(
        "executions",
        "resume",
        execution_id,
        "--as",
        "dana",
        "--input",
        "reason=looks good",
        "--wait",
        "--json",
    )
    assert resumed.exit_code == 0, resumed.output
    body = json.loads(resumed.output.strip().splitlines()[-1])
    assert body["state"] == "SUCCESS"
    approve = next(r for r in body["taskRuns"] if r["taskId"] == "approve")
    assert approve["outputs"]["resumed"]["by"] == "dana"


def test_secret_values_never_reach_the_log_or_the_cli_output(
    sluice, tmp_path, db_url, monkeypatch
):
    secret = "hunter2-very-secret-value"
    monkeypatch.setenv("SECRET_API_TOKEN", secret)
    path = write(
        tmp_path,
        "secret.yaml",
        """
        id: secretive
        namespace: demo
        tasks:
          - id: use
            type: core.Return
            format: "token={{ secret('API_TOKEN') }}"
          - id: say
            type: core.Log
            message: "using {{ secret('API_TOKEN') }}"
          - id: boom
            type: core.Fail
            errorMessage: "failed with {{ secret('API_TOKEN') }}"
    """,
    )
    result = sluice("run", path, "--json")
    assert result.exit_code == 1
    assert secret not in result.output
    from sluice.eventstore import open_event_log

    log = open_event_log(db_url)
    try:
        everything = log.read_all(0, 100_000)
        dumped = "\n".join(str(e) for e in everything)
        assert everything and secret not in dumped
        execution_id = json.loads(result.output.strip().splitlines()[-1])["id"]
        lines = log.read_logs(execution_id)
        assert lines and all(secret not in line.message for line in lines)
        assert any("******" in line.message for line in lines)
    finally:
        log.close()


def test_flow_schema_is_json_schema_naming_every_task_type(sluice):
    result = sluice("flow", "schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["required"] == ["id", "namespace", "tasks"]
    variants = schema["$defs"]["Task"]["anyOf"]
    names = {name for v in variants for name in v["properties"]["type"]["enum"]}
    for expected in (
        "core.Log",
        "io.kestra.plugin.core.log.Log",
        "aws.s3.Upload",
        "io.kestra.plugin.aws.s3.Upload",
        "core.ForEach",
        "slack.IncomingWebhook",
    ):
        assert expected in names
    upload = next(
        v for v in variants if "aws.s3.Upload" in v["properties"]["type"]["enum"]
    )
    assert {"bucket", "key", "stsRoleArn", "endpointOverride"} <= set(
        upload["properties"]
    )
