"""iam-key-rotation: per-account keys rotated, a named approval before prod, old keys
deleted by the scheduled follow-up flow once the new ones are Active."""

from __future__ import annotations

import json

import boto3
import pytest

from sluice.cli.run import resume_execution, stop_when_settled
from tests.blueprints.conftest import shipped
from tests.engine.conftest import events_of, run_flow
from tests.projections.clirun import sluice

pytestmark = pytest.mark.aws

ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}


def _in_account(aws, account: str, service: str):
    """A client acting in `account` (moto switches accounts on AssumeRole)."""
    role = f"arn:aws:iam::{account}:role/key-rotation"
    creds = aws.client("sts").assume_role(RoleArn=role, RoleSessionName="test")
    c = creds["Credentials"]
    return boto3.client(
        service,
        endpoint_url=aws.url,
        region_name=aws.region,
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
    )


def _seed(aws) -> dict[str, str]:
    """In each account: the user etl-bot with one key, and the secret; old key ids."""
    old = {}
    for name, account in ACCOUNTS.items():
        iam = _in_account(aws, account, "iam")
        iam.create_user(UserName="etl-bot")
        old[name] = iam.create_access_key(UserName="etl-bot")["AccessKey"][
            "AccessKeyId"
        ]
        secrets = _in_account(aws, account, "secretsmanager")
        secrets.create_secret(Name="etl-bot/access-key", SecretString="{}")
    return old


def _keys(aws, name: str) -> dict[str, str]:
    iam = _in_account(aws, ACCOUNTS[name], "iam")
    listed = iam.list_access_keys(UserName="etl-bot")["AccessKeyMetadata"]
    return {k["AccessKeyId"]: k["Status"] for k in listed}


def _secret(aws, name: str) -> dict:
    secrets = _in_account(aws, ACCOUNTS[name], "secretsmanager")
    return json.loads(
        secrets.get_secret_value(SecretId="etl-bot/access-key")["SecretString"]
    )


async def _rotate_until_paused(runtime, aws, slack, hours: int):
    old = _seed(aws)
    runtime.flows.deploy(shipped("iam-key-rotation-delete-old-keys"))
    paused = await run_flow(
        runtime, shipped("iam-key-rotation"), {"deleteAfterHours": hours}
    )
    return old, paused


async def test_iam_rotation_needs_a_named_approval_before_prod_and_schedules_deletion(
    runtime, aws, slack, db_url
):
    old, paused = await _rotate_until_paused(runtime, aws, slack, hours=24)

    assert paused.state == "PAUSED"
    for name in ("dev", "staging"):
        keys = _keys(aws, name)
        assert keys.pop(old[name]) == "Inactive"
        [(new, status)] = keys.items()
        assert status == "Active"
        assert _secret(aws, name)["accessKeyId"] == new
        assert len(_secret(aws, name)["secretAccessKey"]) == 40
    assert _keys(aws, "prod") == {old["prod"]: "Active"}
    [ask] = slack.texts
    assert f"sluice executions resume {paused.id}" in ask

    resume_execution(runtime, paused.id, {"note": "CHG-42, dev checked"}, "user:alice")
    done = await runtime.drive(paused.id, stop_when_settled)

    assert done.state == "SUCCESS", done.reason
    prod = _keys(aws, "prod")
    assert prod.pop(old["prod"]) == "Inactive"
    assert list(prod.values()) == ["Active"]
    assert _secret(aws, "prod")["accessKeyId"] == next(iter(prod))
    approval = done.task_runs["approve[2]"].outputs
    assert approval["resumed"]["by"] == "alice"
    assert approval["onResume"] == {"note": "CHG-42, dev checked"}
    result = sluice(db_url, "audit", "--action", "resume", "--json")
    assert result.exit_code == 0, result.output
    audit = json.loads(result.stdout)
    [entry] = audit["entries"]
    assert (entry["actor"], entry["execution_id"]) == ("user:alice", paused.id)
    deletion = runtime.state(done.task_runs["schedule_deletion"].outputs["executionId"])
    assert deletion.flow_id == "iam-key-rotation-delete-old-keys"
    assert deletion.state == "CREATED"  # waits for its date: old keys stay, Inactive
    waited = (deletion.schedule_date - done.ended).total_seconds()
    assert abs(waited - 24 * 3600) < 60  # 24 hours after the rotation ended
    # The new secret keys are in Secrets Manager only, never in the log.
    logged = json.dumps([e.event for e in events_of(runtime, paused.id)], default=str)
    for name in ACCOUNTS:
        assert _secret(aws, name)["secretAccessKey"] not in logged


async def test_iam_rotation_follow_up_deletes_old_keys_once_new_ones_are_active(
    runtime, aws, slack
):
    old, paused = await _rotate_until_paused(runtime, aws, slack, hours=0)
    resume_execution(runtime, paused.id, {"note": "ok"}, "user:alice")
    done = await runtime.drive(paused.id, stop_when_settled)
    child_id = done.task_runs["schedule_deletion"].outputs["executionId"]

    child = await runtime.drive(child_id, stop_when_settled)

    assert child.state == "SUCCESS", child.reason
    for name in ACCOUNTS:
        assert list(_keys(aws, name).values()) == ["Active"]
        assert old[name] not in _keys(aws, name)


async def test_iam_rotation_follow_up_keeps_an_old_key_that_was_reactivated(
    runtime, aws, slack
):
    old, paused = await _rotate_until_paused(runtime, aws, slack, hours=0)
    # Rolled back in dev while waiting: the old key is Active again.
    iam = _in_account(aws, ACCOUNTS["dev"], "iam")
    iam.update_access_key(UserName="etl-bot", AccessKeyId=old["dev"], Status="Active")
    resume_execution(runtime, paused.id, {"note": "ok"}, "user:alice")
    done = await runtime.drive(paused.id, stop_when_settled)
    child_id = done.task_runs["schedule_deletion"].outputs["executionId"]

    child = await runtime.drive(child_id, stop_when_settled)

    assert child.state == "FAILED"
    assert f"dev: not deleting {old['dev']}" in child.task_runs["verify[0]"].message
    assert _keys(aws, "dev")[old["dev"]] == "Active"
