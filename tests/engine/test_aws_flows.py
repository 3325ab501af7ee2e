"""AWS tasks through the engine: one execution across two accounts, and a Glue run that
survives a killed server (polled to the end by the next one, started once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import boto3
import pytest

from sluice.cli.run import stop_when_settled
from sluice.cli.runtime import Runtime
from sluice.eventstore import open_event_log
from tests.engine.conftest import flow_source
from tests.fixtures_aws import set_transition

pytestmark = pytest.mark.aws


def assumed(moto_url: str, account: str, service: str):
    sts = boto3.client("sts", endpoint_url=moto_url, region_name="us-east-1")
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


async def test_one_execution_runs_glue_in_one_account_and_dynamodb_in_another(
    runtime, moto_url, unique
):
    assumed(moto_url, "222222222222", "glue").create_job(
        Name="nightly",
        Role="r",
        Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"},
    )
    assumed(moto_url, "333333333333", "dynamodb").create_table(
        TableName="daily",
        KeySchema=[{"AttributeName": "day", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "day", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    bucket = f"shared-{unique}"
    assumed(moto_url, "222222222222", "s3").create_bucket(Bucket=bucket)
    flow = runtime.flows.deploy(
        flow_source(f"""
        id: cross
        namespace: xacct
        pluginDefaults:
          - type: aws
            values:
              endpointOverride: {moto_url}
              region: us-east-1
        tasks:
          - id: etl
            type: aws.glue.StartJobRun
            stsRoleArn: arn:aws:iam::222222222222:role/etl
            stsRoleSessionName: sluice-etl
            jobName: nightly
            interval: PT0.1S
          - id: report
            type: aws.s3.Upload
            stsRoleArn: arn:aws:iam::222222222222:role/etl
            bucket: {bucket}
            key: out/report.txt
            content: "run {{{{ outputs.etl.jobRunId }}}}"
          - id: fetch
            type: aws.s3.Download
            stsRoleArn: arn:aws:iam::333333333333:role/writer
            stsRoleExternalId: ext-123
            bucket: {bucket}
            key: out/report.txt
          - id: put
            type: aws.dynamodb.PutItem
            stsRoleArn: arn:aws:iam::333333333333:role/writer
            tableName: daily
            item:
              day: "2026-01-01"
              run: "{{{{ outputs.etl.jobRunId }}}}"
              size: "{{{{ outputs.fetch.contentLength }}}}"
    """)
    )
    execution_id = runtime.create_execution(flow, {}, actor="user:t", from_cli=False)
    state = await runtime.drive(execution_id, stop_when_settled)
    assert state.state == "SUCCESS", state.reason
    run_id = state.task_runs["etl"].outputs["jobRunId"]
    runs = assumed(moto_url, "222222222222", "glue").get_job_runs(JobName="nightly")[
        "JobRuns"
    ]
    assert [r["Id"] for r in runs] == [run_id]
    item = assumed(moto_url, "333333333333", "dynamodb").get_item(
        TableName="daily", Key={"day": {"S": "2026-01-01"}}
    )["Item"]
    assert item["run"] == {"S": run_id}
    assert item["size"]["N"] == str(len(f"run {run_id}"))
    downloaded = runtime.storage.get_bytes(state.task_runs["fetch"].outputs["uri"])
    assert downloaded == f"run {run_id}".encode()
    default_tables = boto3.client(
        "dynamodb", endpoint_url=moto_url, region_name="us-east-1"
    ).list_tables()["TableNames"]
    assert "daily" not in default_tables


@pytest.mark.slow
def test_glue_wait_survives_a_killed_server_and_the_run_is_started_once(
    db_url, tmp_path, moto_url, monkeypatch
):
    glue = boto3.client("glue", endpoint_url=moto_url, region_name="us-east-1")
    glue.create_job(
        Name="etl",
        Role="r",
        Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"},
    )
    # Each run stays STARTING/RUNNING for several polls, so the server dies mid-wait.
    set_transition(moto_url, "glue::job_run", {"progression": "manual", "times": 8})
    source = flow_source(f"""
        id: gluewait
        namespace: crash
        tasks:
          - id: etl
            type: aws.glue.StartJobRun
            endpointOverride: {moto_url}
            region: us-east-1
            jobName: etl
            interval: PT0.2S
          - id: after
            type: core.Return
            format: "{{{{ outputs.etl.state }}}}"
    """)
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "gluewait.yaml").write_text(source)
    data = str(tmp_path / "data")
    log = open_event_log(db_url)
    runtime = Runtime.open(log, data)
    flow = runtime.flows.deploy(source)
    execution_id = runtime.create_execution(flow, {}, actor="user:t", from_cli=False)
    stream = f"execution/{execution_id}"
    env = {**os.environ, "SLUICE_LEASE_SECONDS": "2", "SLUICE_LOG_LEVEL": "WARNING"}
    cmd = [
        sys.executable,
        "-m",
        "sluice.cli",
        "--db",
        db_url,
        "--data-dir",
        data,
        "server",
        "--flows",
        str(flows),
    ]

    def waits() -> list:
        return [e for e in log.read_stream(stream) if e.type == "TaskRunWaiting"]

    with open(tmp_path / "s1.log", "wb") as out:
        first = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while len(waits()) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(waits()) >= 2, (tmp_path / "s1.log").read_text()
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
    assert not any(e.type == "ExecutionEnded" for e in log.read_stream(stream))
    with open(tmp_path / "s2.log", "wb") as out:
        second = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                if any(e.type == "ExecutionEnded" for e in log.read_stream(stream)):
                    break
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
    state = runtime.state(execution_id)
    assert state.state == "SUCCESS", (tmp_path / "s2.log").read_text()
    runs = glue.get_job_runs(JobName="etl")["JobRuns"]
    assert len(runs) == 1
    polled = {w.event.checkpoint["jobRunId"] for w in waits()}
    assert polled == {runs[0]["Id"]}
    assert state.task_runs["after"].outputs == {"value": "SUCCEEDED"}
    log.close()
