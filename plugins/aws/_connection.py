"""One connection model for every AWS task and trigger, and one place that builds clients.

Properties (camelCase in YAML): `region`, `accessKeyId`, `secretKeyId`, `sessionToken`,
`endpointOverride`, `stsRoleArn`, `stsRoleSessionName`, `stsRoleExternalId`,
`stsRoleSessionDuration`, `stsEndpointOverride`.

Precedence: assume role, then static keys, then boto3's default chain. Static keys given
with `stsRoleArn` are the *source* credentials of the AssumeRole (Kestra ignores them).
Assumed-role credentials are cached per (role, session name, external id, source) and
refreshed five minutes before they expire. boto3 blocks, so callers run client calls
through `call()` (a thread), never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlparse

import boto3
import botocore.config
import botocore.exceptions
from pydantic import Field, SecretStr, field_validator

from sluice.core.errors import TaskError
from sluice.core.plugin import PluginModel, PollingTrigger, Task

_R = TypeVar("_R")

_REFRESH_BEFORE = timedelta(minutes=5)
_NOT_RETRYABLE_CODES = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
    "NoSuchBucket", "NoSuchKey", "ResourceNotFoundException", "EntityNotFound",
    "EntityNotFoundException", "ValidationException", "ValidationError",
    "InvalidParameterValue", "InvalidParameterException", "InvalidRequestException",
    "ConditionalCheckFailedException", "NotFound", "404", "403",
    "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NotFoundException",
}  # fmt: skip
_RETRYABLE_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "ProvisionedThroughputExceededException", "SlowDown",
    "RequestThrottled", "ServiceUnavailable", "InternalError", "InternalFailure",
    "InternalServerError", "InternalServiceException", "ConcurrentRunsExceededException",
}  # fmt: skip


class AwsConnection(PluginModel):
    """The AWS connection properties every AWS task and trigger accepts."""

    region: str | None = None
    access_key_id: str | None = None
    secret_key_id: SecretStr | None = None
    session_token: SecretStr | None = None
    endpoint_override: str | None = None
    sts_role_arn: str | None = None
    sts_role_session_name: str | None = None
    sts_role_external_id: SecretStr | None = None
    sts_role_session_duration: timedelta = Field(default=timedelta(minutes=15))
    sts_endpoint_override: str | None = None

    @field_validator("endpoint_override", "sts_endpoint_override")
    @classmethod
    def _refuse_metadata_range(cls, value: str | None) -> str | None:
        if value is None:
            return value
        check_endpoint(value)
        return value

    def client(self, service: str) -> Any:
        """A boto3 client for `service` with this connection's credentials and endpoint."""
        return _client(self, service)

    async def call(self, what: str, fn: Callable[..., _R], /, **kwargs: Any) -> _R:
        """Run one boto3 call in a thread; AWS errors become `TaskError`s naming `what`."""
        with aws_errors(what):
            return await asyncio.to_thread(fn, **kwargs)


def check_endpoint(url: str) -> None:
    """Refuse endpoints in the instance metadata range (169.254.0.0/16) or without a host.

    Raises:
        ValueError: the URL is not an http(s) URL with a host, or points at metadata.
    """
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ValueError(f"endpoint {url!r} is not an http(s) URL with a host")
    try:
        address = ipaddress.ip_address(parsed.hostname)
    except ValueError:
        return
    if address in ipaddress.ip_network("169.254.0.0/16") or (
        address.version == 6 and address in ipaddress.ip_network("fe80::/10")
    ):
        raise ValueError(
            f"endpoint {url!r} is in the instance metadata range (169.254.0.0/16): refused"
        )


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Translate botocore errors into `TaskError`, saying which call failed and why."""
    try:
        yield
    except botocore.exceptions.ClientError as err:
        error = err.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = error.get("Message") or str(err)
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        retryable = code in _RETRYABLE_CODES or (
            status >= 500 and code not in _NOT_RETRYABLE_CODES
        )
        if status == 429:
            retryable = True
        raise TaskError(
            f"{what} failed: {code}: {message}", retryable=retryable, error_type=code
        ) from err
    except botocore.exceptions.NoCredentialsError as err:
        raise TaskError(
            f"{what} failed: no AWS credentials (set accessKeyId/secretKeyId, "
            "stsRoleArn, or the default chain)",
            error_type="NoCredentials",
        ) from err
    except (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
    ) as err:
        raise TaskError(
            f"{what} failed: cannot reach AWS: {err}", retryable=True, error_type="Network"
        ) from err
    except botocore.exceptions.ParamValidationError as err:
        raise TaskError(
            f"{what} failed: invalid parameters: {err}", error_type="ParamValidation"
        ) from err
    except botocore.exceptions.BotoCoreError as err:
        raise TaskError(f"{what} failed: {err}", error_type=type(err).__name__) from err


# --- sessions and clients, cached --------------------------------------------------

_lock = threading.Lock()
_assumed: dict[tuple[str, ...], tuple[dict[str, str], datetime]] = {}
_clients: dict[tuple[str, ...], Any] = {}
_CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 3})


def _source_session(conn: AwsConnection) -> boto3.Session:
    if conn.access_key_id and conn.secret_key_id:
        return boto3.Session(
            aws_access_key_id=conn.access_key_id,
            aws_secret_access_key=conn.secret_key_id.get_secret_value(),
            aws_session_token=(
                conn.session_token.get_secret_value() if conn.session_token else None
            ),
            region_name=conn.region,
        )
    return boto3.Session(region_name=conn.region)


def _fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\x00".join(p or "" for p in parts).encode()).hexdigest()[:16]


def _assume(conn: AwsConnection) -> dict[str, str]:
    assert conn.sts_role_arn is not None
    secret = conn.secret_key_id.get_secret_value() if conn.secret_key_id else None
    external = (
        conn.sts_role_external_id.get_secret_value() if conn.sts_role_external_id else None
    )
    key = (
        conn.sts_role_arn,
        conn.sts_role_session_name or "",
        _fingerprint(external, conn.access_key_id, secret),
        conn.sts_endpoint_override or conn.endpoint_override or "",
        conn.region or "",
    )
    now = datetime.now(UTC)
    with _lock:
        cached = _assumed.get(key)
        if cached and cached[1] - _REFRESH_BEFORE > now:
            return cached[0]
    sts = _source_session(conn).client(
        "sts",
        endpoint_url=conn.sts_endpoint_override or conn.endpoint_override,
        config=_CONFIG,
    )
    kwargs: dict[str, Any] = {
        "RoleArn": conn.sts_role_arn,
        "RoleSessionName": conn.sts_role_session_name or "sluice",
        "DurationSeconds": max(900, int(conn.sts_role_session_duration.total_seconds())),
    }
    if external:
        kwargs["ExternalId"] = external
    with aws_errors(f"sts:AssumeRole {conn.sts_role_arn}"):
        creds = sts.assume_role(**kwargs)["Credentials"]
    value = {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    expires = creds["Expiration"]
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    with _lock:
        _assumed[key] = (value, expires)
    return value


def session(conn: AwsConnection) -> boto3.Session:
    """A boto3 session: assumed role, else static keys, else the default chain."""
    if conn.sts_role_arn:
        return boto3.Session(region_name=conn.region, **_assume(conn))
    return _source_session(conn)


def resolved_credentials(conn: AwsConnection) -> dict[str, str]:
    """The credentials a task would use, as environment variables (for `aws` CLI)."""
    creds = session(conn).get_credentials()
    if creds is None:
        return {}
    frozen = creds.get_frozen_credentials()
    env = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key}
    if frozen.token:
        env["AWS_SESSION_TOKEN"] = frozen.token
    return env


def _client(conn: AwsConnection, service: str) -> Any:
    if conn.sts_role_arn:
        creds = _assume(conn)
        ident = _fingerprint(creds["aws_access_key_id"], creds["aws_session_token"])
    else:
        secret = conn.secret_key_id.get_secret_value() if conn.secret_key_id else None
        token = conn.session_token.get_secret_value() if conn.session_token else None
        ident = _fingerprint(conn.access_key_id, secret, token)
    key = (service, conn.region or "", conn.endpoint_override or "", ident)
    with _lock:
        client = _clients.get(key)
    if client is None:
        client = session(conn).client(
            service, endpoint_url=conn.endpoint_override, config=_CONFIG
        )
        with _lock:
            _clients[key] = client
    return client


def clear_caches() -> None:
    """Forget cached assumed-role credentials and clients (tests, credential rotation)."""
    with _lock:
        _assumed.clear()
        _clients.clear()


class AwsTask(Task, AwsConnection):
    """Base of every AWS task: the connection properties plus `run`."""


class AwsPollingTrigger(PollingTrigger, AwsConnection):
    """Base of every AWS polling trigger: the connection properties plus `poll`."""
