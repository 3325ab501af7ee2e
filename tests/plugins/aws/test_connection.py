from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import botocore.exceptions
import pytest
from pydantic import ValidationError

from sluice.core.errors import TaskError
from sluice.plugins.aws._connection import (
    AwsConnection,
    aws_errors,
    clear_caches,
    resolved_credentials,
    set_credentials_clock,
)

ROLE = "arn:aws:iam::123456789012:role/etl"


@dataclass
class MovableClock:
    current: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.current


@pytest.fixture
def no_default_chain(monkeypatch, tmp_path):
    """No credentials anywhere in boto3's default chain."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    clear_caches()


@pytest.fixture
def clock():
    moving = MovableClock()
    set_credentials_clock(moving)
    yield moving
    set_credentials_clock(None)


def connection(moto_url: str, **props) -> AwsConnection:
    return AwsConnection.model_validate(
        {"region": "us-east-1", "endpointOverride": moto_url, **props}
    )


async def caller_arn(conn: AwsConnection) -> str:
    sts = conn.client("sts")
    identity = await conn.call("sts:GetCallerIdentity", sts.get_caller_identity)
    return identity["Arn"]


def test_credentials_come_from_default_chain_when_nothing_is_set(moto_url):
    conn = connection(moto_url)

    assert resolved_credentials(conn)["AWS_ACCESS_KEY_ID"] == "testing"


def test_static_keys_take_precedence_over_default_chain(moto_url):
    conn = connection(moto_url, accessKeyId="AKIASTATIC", secretKeyId="static-secret")

    creds = resolved_credentials(conn)

    assert creds["AWS_ACCESS_KEY_ID"] == "AKIASTATIC"
    assert "AWS_SESSION_TOKEN" not in creds


async def test_assume_role_takes_precedence_over_static_keys(moto_url):
    conn = connection(
        moto_url, accessKeyId="AKIASTATIC", secretKeyId="s", stsRoleArn=ROLE
    )

    creds = resolved_credentials(conn)

    assert creds["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert creds["AWS_SESSION_TOKEN"]
    assert await caller_arn(conn) == (
        "arn:aws:sts::123456789012:assumed-role/etl/sluice"
    )


async def test_static_keys_are_source_credentials_of_assume_role(
    moto_url, no_default_chain
):
    without_keys = connection(moto_url, stsRoleArn=ROLE)
    with_keys = connection(
        moto_url, stsRoleArn=ROLE, accessKeyId="AKIASOURCE", secretKeyId="src"
    )

    with pytest.raises(TaskError, match="no AWS credentials"):
        await caller_arn(without_keys)
    assert await caller_arn(with_keys) == (
        "arn:aws:sts::123456789012:assumed-role/etl/sluice"
    )


async def test_assume_role_uses_session_name_and_external_id(moto_url):
    conn = connection(
        moto_url,
        stsRoleArn=ROLE,
        stsRoleSessionName="nightly",
        stsRoleExternalId="ext-123",
        stsRoleSessionDuration="PT1H",
    )

    assert await caller_arn(conn) == (
        "arn:aws:sts::123456789012:assumed-role/etl/nightly"
    )


def test_assumed_credentials_are_cached_until_five_minutes_before_expiry(
    moto_url, clock
):
    conn = connection(moto_url, stsRoleArn=ROLE)  # 15-minute sessions

    first = resolved_credentials(conn)["AWS_ACCESS_KEY_ID"]
    clock.current += timedelta(minutes=9)
    again = resolved_credentials(conn)["AWS_ACCESS_KEY_ID"]
    clock.current += timedelta(minutes=2)  # 4 minutes left: renew
    renewed = resolved_credentials(conn)["AWS_ACCESS_KEY_ID"]

    assert again == first
    assert renewed != first


async def test_cached_client_signs_with_renewed_credentials(moto_url, clock):
    conn = connection(moto_url, stsRoleArn=ROLE)
    client = conn.client("sts")
    before = client._request_signer._credentials.get_frozen_credentials()
    await conn.call("sts:GetCallerIdentity", client.get_caller_identity)

    clock.current += timedelta(minutes=11)
    identity = await conn.call("sts:GetCallerIdentity", client.get_caller_identity)

    after = client._request_signer._credentials.get_frozen_credentials()
    assert conn.client("sts") is client
    assert after.access_key != before.access_key
    assert identity["Arn"].endswith("assumed-role/etl/sluice")


async def test_assume_role_into_another_account_switches_account(moto_url):
    conn = connection(moto_url, stsRoleArn="arn:aws:iam::222222222222:role/x")

    sts = conn.client("sts")
    identity = await conn.call("sts:GetCallerIdentity", sts.get_caller_identity)

    assert identity["Account"] == "222222222222"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest",
        "http://169.254.170.2",
        "http://2852039166/",
        "http://0xa9.0xfe.0xa9.0xfe",
        "http://169.254.43518",
        "http://[::ffff:169.254.169.254]",
        "http://[fd00:ec2::254]",
        "http://[fe80::1]:8080",
    ],
)
@pytest.mark.parametrize("prop", ["endpointOverride", "stsEndpointOverride"])
def test_endpoint_in_metadata_range_is_refused(url, prop):
    with pytest.raises(ValidationError, match="instance metadata range") as info:
        AwsConnection.model_validate({prop: url})

    assert info.value.errors()[0]["loc"] == (prop,)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:4566",
        "https://s3.eu-west-1.amazonaws.com",
        "http://localhost:5000",
    ],
)
def test_private_and_named_endpoints_are_accepted(url):
    assert (
        AwsConnection.model_validate({"endpointOverride": url}).endpoint_override == url
    )


def test_endpoint_without_http_host_is_refused():
    with pytest.raises(ValidationError, match="not an http"):
        AwsConnection.model_validate({"endpointOverride": "file:///etc/passwd"})


def test_access_key_without_secret_is_refused():
    with pytest.raises(ValidationError, match="go together"):
        AwsConnection.model_validate({"accessKeyId": "AKIA"})


def test_blank_properties_count_as_unset():
    conn = AwsConnection.model_validate(
        {"region": "", "endpointOverride": " ", "accessKeyId": "", "secretKeyId": ""}
    )

    assert (conn.region, conn.endpoint_override, conn.access_key_id) == (None,) * 3


@pytest.mark.parametrize("duration", ["PT5M", "PT13H"])
def test_session_duration_outside_aws_limits_is_refused(duration):
    with pytest.raises(ValidationError, match="stsRoleSessionDuration"):
        AwsConnection.model_validate({"stsRoleSessionDuration": duration})


def test_secrets_never_appear_in_repr():
    conn = AwsConnection.model_validate(
        {
            "accessKeyId": "AKIA",
            "secretKeyId": "very-secret",
            "sessionToken": "tok-secret",
            "stsRoleExternalId": "ext-secret",
        }
    )

    assert not {"very-secret", "tok-secret", "ext-secret"} & set(repr(conn).split("'"))


async def test_missing_bucket_is_task_error_naming_call_not_retryable(moto_url):
    conn = connection(moto_url)
    s3 = conn.client("s3")

    with pytest.raises(TaskError) as info:
        await conn.call("s3:GetObject nope/k", s3.get_object, Bucket="nope", Key="k")

    assert info.value.message.startswith("s3:GetObject nope/k failed: NoSuchBucket")
    assert info.value.error_type == "NoSuchBucket"
    assert not info.value.retryable


async def test_unreachable_endpoint_is_retryable_task_error(unused_tcp_port, aws_env):
    conn = connection(f"http://127.0.0.1:{unused_tcp_port}")
    s3 = conn.client("s3")

    with pytest.raises(TaskError, match="cannot reach AWS") as info:
        await conn.call("s3:ListBuckets", s3.list_buckets)

    assert info.value.retryable


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("ThrottlingException", 400, True),
        ("SlowDown", 503, True),
        ("InternalError", 500, True),
        ("TooManyRequests", 429, True),
        ("AccessDenied", 403, False),
        ("AccessDeniedException", 400, False),
        ("NoSuchKey", 404, False),
        ("ResourceNotFoundException", 400, False),
        ("ValidationException", 400, False),
    ],
)
def test_aws_errors_classify_retryable(code, status, retryable):
    response = {
        "Error": {"Code": code, "Message": "boom"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }

    with pytest.raises(TaskError) as info, aws_errors("glue:StartJobRun etl"):
        raise botocore.exceptions.ClientError(response, "StartJobRun")

    assert info.value.retryable is retryable
    assert info.value.message == f"glue:StartJobRun etl failed: {code}: boom"
    assert isinstance(info.value.__cause__, botocore.exceptions.ClientError)
