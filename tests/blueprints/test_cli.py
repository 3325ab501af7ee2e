"""`sluice blueprints list|show|copy` and `sluice demo`, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sluice.blueprints.demo_resources import dbt_available
from sluice.cli.main import cli

SHIPPED = [
    "emr-serverless-on-backlog",
    "glue-athena-dynamodb",
    "iam-key-rotation",
    "iam-key-rotation-delete-old-keys",
    "s3-fanout-by-prefix",
]
DEMO_ENV = [
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "SECRET_SLACK_WEBHOOK",
]
FOLDER = Path(__file__).resolve().parents[2] / "blueprints"


def _sluice(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_blueprints_list_names_each_blueprint_with_its_summary():
    result = _sluice("blueprints", "list")

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == SHIPPED
    fanout = lines[SHIPPED.index("s3-fanout-by-prefix")]
    assert "by prefix: orders to dbt, clicks to Lambda" in fanout


def test_blueprints_show_prints_the_shipped_yaml():
    result = _sluice("blueprints", "show", "glue-athena-dynamodb")

    assert result.exit_code == 0
    assert result.output == (FOLDER / "glue-athena-dynamodb.yaml").read_text()


def test_blueprints_show_of_an_unknown_name_lists_the_known_ones():
    result = _sluice("blueprints", "show", "s3-fanout")

    assert result.exit_code == 2
    assert (
        "no blueprint 's3-fanout'; known: emr-serverless-on-backlog," in result.output
    )


def test_blueprints_copy_writes_the_flow_and_the_flows_it_starts(tmp_path):
    folder = str(tmp_path / "flows")
    result = _sluice("blueprints", "copy", "iam-key-rotation", folder)

    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "flows").iterdir())
    assert written == ["iam-key-rotation-delete-old-keys.yaml", "iam-key-rotation.yaml"]
    copied = (tmp_path / "flows" / "iam-key-rotation.yaml").read_text()
    assert copied == (FOLDER / "iam-key-rotation.yaml").read_text()


def test_blueprints_copy_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "s3-fanout-by-prefix.yaml"
    target.write_text("mine")

    refused = _sluice("blueprints", "copy", "s3-fanout-by-prefix", str(tmp_path))
    assert refused.exit_code == 2
    assert "exists; use --force" in refused.output
    assert target.read_text() == "mine"

    forced = _sluice(
        "blueprints", "copy", "s3-fanout-by-prefix", str(tmp_path), "--force"
    )
    assert forced.exit_code == 0
    assert target.read_text() == (FOLDER / "s3-fanout-by-prefix.yaml").read_text()


def test_every_copied_blueprint_is_a_valid_flow(tmp_path):
    for name in SHIPPED:
        assert (
            _sluice("blueprints", "copy", name, str(tmp_path), "--force").exit_code == 0
        )

    result = _sluice("flow", "validate", *sorted(str(p) for p in tmp_path.iterdir()))

    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (company.aws/") == len(SHIPPED)


@pytest.mark.slow
def test_demo_runs_two_blueprints_against_the_emulator_and_exits_0(
    tmp_path, monkeypatch, moto_server
):
    # The demo exports its emulator's endpoint, fake keys and the Slack secret: set
    # then unset each here, so that monkeypatch restores what was there before.
    for name in DEMO_ENV:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    data = str(tmp_path / ".sluice")
    try:
        result = _sluice("--data-dir", data, "demo")
    finally:
        # moto's state is per process: the demo's emulator shares it with the tests'.
        from tests.fixtures_aws import _post

        _post(f"{moto_server}/moto-api/reset")

    assert result.exit_code == 0, result.output
    report = result.output.split("Executions:")[1]
    files = 3 if dbt_available() else 2  # without dbt, no orders file is dropped
    assert report.count(" s3-fanout-by-prefix ") == files
    assert report.count(" SUCCESS") == files + 1
    assert "processed/clicks/2026-01-31/clicks-0001.json" in result.output
    assert '"rowCount": 1234' in result.output
    assert f"sluice --data-dir {data} executions list" in result.output
    listed = _sluice("--data-dir", data, "executions", "list", "--json")
    rows = json.loads(listed.output)["executions"]
    assert sorted(r["state"] for r in rows) == ["SUCCESS"] * (files + 1)
