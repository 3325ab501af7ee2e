import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.core.plugin import REDACTED, split_outputs
from sluice.plugins.aws.iam import (
    CreateAccessKey,
    DeleteAccessKey,
    ListAccessKeys,
    UpdateAccessKey,
)
from tests.fixtures_aws import REGION
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws


@pytest.fixture
def iam(moto_url):
    client = boto3.client("iam", endpoint_url=moto_url, region_name=REGION)
    client.create_user(UserName="etl-bot")
    return client


def _props(moto_url, **props):
    return {"userName": "etl-bot", "endpointOverride": moto_url, **props}


async def test_create_access_key_returns_secret_as_secret_output(
    moto_url, iam, tmp_path
):
    ctx = make_run_context(tmp_path)

    out = await CreateAccessKey.model_validate(_props(moto_url)).run(ctx)

    secret = out.secret_access_key.get_secret_value()
    assert len(secret) == 40
    assert secret in ctx.secret_values
    assert secret not in repr(out)
    public, secrets = split_outputs(out)
    assert public["secretAccessKey"] == REDACTED
    assert secrets == {"secretAccessKey": secret}
    assert public["accessKeyId"] == out.access_key_id
    listed = iam.list_access_keys(UserName="etl-bot")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [out.access_key_id]


async def test_create_access_key_fails_when_user_has_two_keys(moto_url, iam, tmp_path):
    task = CreateAccessKey.model_validate(_props(moto_url))
    ctx = make_run_context(tmp_path)
    await task.run(ctx)
    await task.run(ctx)

    with pytest.raises(TaskError) as err:
        await task.run(ctx)

    assert "iam:CreateAccessKey etl-bot failed: LimitExceeded" in err.value.message
    assert not err.value.retryable


async def test_rotation_lists_deactivates_and_deletes_keys(moto_url, iam, tmp_path):
    ctx = make_run_context(tmp_path)
    old = await CreateAccessKey.model_validate(_props(moto_url)).run(ctx)
    new = await CreateAccessKey.model_validate(_props(moto_url)).run(ctx)

    listed = await ListAccessKeys.model_validate(_props(moto_url)).run(ctx)
    assert [k.access_key_id for k in listed.access_keys] == [
        old.access_key_id,
        new.access_key_id,
    ]
    assert (listed.count, listed.active_count) == (2, 2)

    updated = await UpdateAccessKey.model_validate(
        _props(moto_url, keyId=old.access_key_id, status="Inactive")
    ).run(ctx)
    assert updated.status == "Inactive"
    after_update = await ListAccessKeys.model_validate(_props(moto_url)).run(ctx)
    assert after_update.active_count == 1

    await DeleteAccessKey.model_validate(_props(moto_url, keyId=old.access_key_id)).run(
        ctx
    )
    remaining = iam.list_access_keys(UserName="etl-bot")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in remaining] == [new.access_key_id]


async def test_delete_access_key_fails_not_retryable_for_unknown_key(
    moto_url, iam, tmp_path
):
    task = DeleteAccessKey.model_validate(
        _props(moto_url, keyId="AKIAUNKNOWN000000000")
    )

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "iam:DeleteAccessKey AKIAUNKNOWN000000000 failed" in err.value.message
    assert not err.value.retryable


async def test_update_and_list_fail_for_unknown_user(moto_url, iam, tmp_path):
    ctx = make_run_context(tmp_path)
    with pytest.raises(TaskError, match="NoSuchEntity"):
        await ListAccessKeys.model_validate(_props(moto_url, userName="ghost")).run(ctx)
    with pytest.raises(TaskError, match="NoSuchEntity"):
        await UpdateAccessKey.model_validate(
            _props(moto_url, userName="ghost", keyId="AKIA" + "X" * 16, status="Active")
        ).run(ctx)
