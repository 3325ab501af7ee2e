import base64
import json

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.core.plugin import REDACTED, split_outputs
from sluice.plugins.aws.secretsmanager import (
    CreateSecret,
    GetSecretValue,
    PutSecretValue,
)
from tests.fixtures_aws import REGION
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws

VALUE = '{"user": "etl", "password": "s3cr3t-pa55"}'


@pytest.fixture
def secrets(moto_url):
    return boto3.client("secretsmanager", endpoint_url=moto_url, region_name=REGION)


def _props(moto_url, **props):
    return {"endpointOverride": moto_url, **props}


async def test_create_then_get_secret_value_as_secret_output(moto_url, tmp_path):
    ctx = make_run_context(tmp_path)
    created = await CreateSecret.model_validate(
        _props(moto_url, name="db", secretString=VALUE, tags={"team": "data"})
    ).run(ctx)

    out = await GetSecretValue.model_validate(_props(moto_url, secretId="db")).run(ctx)

    assert out.value.get_secret_value() == VALUE
    assert out.version_id == created.version_id
    assert out.version_stages == ["AWSCURRENT"]
    public, hidden = split_outputs(out)
    assert public["value"] == REDACTED
    assert hidden == {"value": VALUE}
    assert VALUE not in repr(out)
    # The whole value and each JSON field are masked in logs.
    assert {VALUE, "etl", "s3cr3t-pa55"} <= set(ctx.secret_values)


async def test_put_secret_value_makes_new_current_and_keeps_previous(
    moto_url, secrets, tmp_path
):
    secrets.create_secret(Name="db", SecretString="old")
    task = PutSecretValue.model_validate(
        _props(moto_url, secretId="db", secretString="new")
    )

    out = await task.run(make_run_context(tmp_path))

    assert "new" not in repr(task)
    assert out.version_stages == ["AWSCURRENT"]
    assert secrets.get_secret_value(SecretId="db")["SecretString"] == "new"
    previous = secrets.get_secret_value(SecretId="db", VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "old"


async def test_put_secret_value_retried_adds_no_second_version(
    moto_url, secrets, tmp_path
):
    secrets.create_secret(Name="db", SecretString="old")
    task = PutSecretValue.model_validate(
        _props(moto_url, secretId="db", secretString="new")
    )

    first = await task.run(make_run_context(tmp_path, attempt=1))
    second = await task.run(make_run_context(tmp_path, attempt=2))

    assert second.version_id == first.version_id
    versions = secrets.list_secret_version_ids(SecretId="db")["Versions"]
    assert len(versions) == 2  # the first value and this one, not three


async def test_get_secret_value_returns_binary_as_base64(moto_url, secrets, tmp_path):
    secrets.create_secret(Name="cert", SecretBinary=b"\x00\xffkey")

    out = await GetSecretValue.model_validate(_props(moto_url, secretId="cert")).run(
        make_run_context(tmp_path)
    )

    assert base64.b64decode(out.value.get_secret_value()) == b"\x00\xffkey"


async def test_get_secret_value_fails_not_retryable_when_missing(moto_url, tmp_path):
    task = GetSecretValue.model_validate(_props(moto_url, secretId="nope"))

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "secretsmanager:GetSecretValue nope failed: ResourceNotFound" in (
        err.value.message
    )
    assert not err.value.retryable


async def test_put_secret_value_error_never_shows_the_value(moto_url, tmp_path):
    task = PutSecretValue.model_validate(
        _props(moto_url, secretId="missing", secretString=VALUE)
    )
    ctx = make_run_context(tmp_path)

    with pytest.raises(TaskError) as err:
        await task.run(ctx)

    assert "ResourceNotFoundException" in err.value.message
    assert "s3cr3t" not in err.value.message
    assert "s3cr3t" not in ctx.logger.text()


async def test_create_secret_fails_when_name_exists(moto_url, secrets, tmp_path):
    secrets.create_secret(Name="db", SecretString="x")
    task = CreateSecret.model_validate(
        _props(moto_url, name="db", secretString=json.dumps({"a": "b"}))
    )

    with pytest.raises(TaskError, match="ResourceExistsException"):
        await task.run(make_run_context(tmp_path))
