"""One connection model for every AWS task and trigger, one place that builds clients.

Properties (camelCase in YAML): `region`, `accessKeyId`, `secretKeyId`, `sessionToken`,
`endpointOverride`, `stsRoleArn`, `stsRoleSessionName`, `stsRoleExternalId`,
`stsRoleSessionDuration`, `stsEndpointOverride`. Empty strings (an unset template)
count as unset.

Precedence: assume role, then static keys, then boto3's default chain. Static keys
given with `stsRoleArn` are the *source* credentials of the AssumeRole (Kestra ignores
them). Assumed-role credentials are botocore refreshable credentials, one object per
(role, session name, external id, source credentials, STS endpoint, duration) shared by
every client of that role: the AssumeRole happens on the first request (in the call's
thread, not on the event loop) and again five minutes before the credentials expire.

Endpoints in the instance metadata ranges are refused when the model is validated:
169.254.0.0/16 in any IPv4 notation (decimal, hex, short forms, IPv4-mapped IPv6),
fe80::/10 and the IMDS IPv6 address fd00:ec2::254. Host *names* are not resolved:
validation must not block on DNS, and a name may resolve differently at request time.

boto3 blocks, so callers run client calls through `call()` (a thread), never on the
loop; `call()` and `aws_errors()` turn botocore errors into `TaskError`s naming the
call, retryable for throttling, 5xx and network errors, not for access denied or a
missing resource.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlparse

import boto3
import boto3.exceptions
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session
from pydantic import Field, SecretStr, field_validator, model_validator

from sluice.core.errors import TaskError
from sluice.core.plugin import PluginModel, PollingTrigger, Task

_R = TypeVar("_R")

REFRESH_BEFORE = timedelta(minutes=5)
"""Assumed-role credentials are renewed when less than this is left."""

_METADATA_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
_CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 3})
_MAX_CLIENTS = 256


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
    sts_role_session_duration: timedelta = Field(
        default=timedelta(minutes=15), ge=timedelta(minutes=15), le=timedelta(hours=12)
    )
    sts_endpoint_override: str | None = None

    @field_validator(
        "region", "access_key_id", "secret_key_id", "session_token",
        "endpoint_override", "sts_role_arn", "sts_role_session_name",
        "sts_role_external_id", "sts_endpoint_override", mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("endpoint_override", "sts_endpoint_override")
    @classmethod
    def _refuse_metadata_range(cls, value: str | None) -> str | None:
        if value is not None:
            check_endpoint(value)
        return value

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> AwsConnection:
        if bool(self.access_key_id) != bool(self.secret_key_id):
            raise ValueError(
                "accessKeyId and secretKeyId go together: set both, or neither to use "
                "stsRoleArn or the default credential chain"
            )
        return self

    def client(self, service: str) -> Any:
        """A boto3 client for `service` with this connection's credentials and endpoint.

        Clients are cached and shared (boto3 clients are thread-safe); building one does
        no network call, so this may be called on the event loop.
        """
        return _client(self, service)

    async def call(self, what: str, fn: Callable[..., _R], /, **kwargs: Any) -> _R:
        """Run one boto3 call in a thread; AWS errors become `TaskError`s naming it."""
        with aws_errors(what):
            return await asyncio.to_thread(fn, **kwargs)


def check_endpoint(url: str) -> None:
    """Refuse endpoints in the instance metadata ranges, or without an http(s) host.

    Raises:
        ValueError: the URL is not an http(s) URL with a host, or points at metadata.
    """
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ValueError(f"endpoint {url!r} is not an http(s) URL with a host")
    address = _literal_address(parsed.hostname)
    if address is not None and any(address in net for net in _METADATA_NETWORKS):
        raise ValueError(
            f"endpoint {url!r} is in the instance metadata range "
            "(169.254.0.0/16): refused"
        )


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            # inet_aton reads what the resolver would: 2852039166, 0xa9.0xfe.0xa9.0xfe,
            # 169.254.43518; a name it cannot read is left to DNS.
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


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
    "Throttling", "ThrottlingException", "ThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "SlowDown",
    "ProvisionedThroughputExceededException", "RequestThrottled",
    "ServiceUnavailable", "InternalError", "InternalFailure", "InternalServerError",
    "InternalServiceException", "ConcurrentRunsExceededException", "RequestTimeout",
    "RequestTimeoutException", "PriorRequestNotComplete", "BandwidthLimitExceeded",
    "EC2ThrottledException", "TransactionInProgressException",
}  # fmt: skip


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Translate botocore errors into `TaskError`, saying which call failed and why.

    Retryable: throttling, 5xx, 429 and network errors. Not retryable: access denied,
    missing resources, invalid parameters, missing credentials (other 4xx too).
    """
    try:
        yield
    except botocore.exceptions.ClientError as err:
        raise _client_error(what, err) from err
    except boto3.exceptions.Boto3Error as err:
        # Managed transfers (upload_file) wrap the ClientError that made them fail.
        cause = err.__cause__ or err.__context__
        if isinstance(cause, botocore.exceptions.ClientError):
            raise _client_error(what, cause) from err
        raise TaskError(f"{what} failed: {err}", error_type=type(err).__name__) from err
    except botocore.exceptions.NoCredentialsError as err:
        raise TaskError(
            f"{what} failed: no AWS credentials (set accessKeyId/secretKeyId, "
            "stsRoleArn, or the default chain)",
            error_type="NoCredentials",
        ) from err
    except (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectionClosedError,
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
    ) as err:
        raise TaskError(
            f"{what} failed: cannot reach AWS: {err}",
            retryable=True,
            error_type="Network",
        ) from err
    except botocore.exceptions.ParamValidationError as err:
        raise TaskError(
            f"{what} failed: invalid parameters: {err}", error_type="ParamValidation"
        ) from err
    except botocore.exceptions.BotoCoreError as err:
        raise TaskError(f"{what} failed: {err}", error_type=type(err).__name__) from err


def _client_error(what: str, err: botocore.exceptions.ClientError) -> TaskError:
    error = err.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = error.get("Message") or str(err)
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    retryable = (
        code in _RETRYABLE_CODES
        or status == 429
        or (status >= 500 and code not in _NOT_RETRYABLE_CODES)
    )
    return TaskError(
        f"{what} failed: {code}: {message}", retryable=retryable, error_type=code
    )


# --- credentials and clients, cached -----------------------------------------------

_lock = threading.Lock()
_roles: dict[tuple[str, ...], botocore.credentials.RefreshableCredentials] = {}
_clients: OrderedDict[tuple[str, ...], Any] = OrderedDict()
_clock: list[Callable[[], datetime]] = []


def _now() -> datetime:
    return _clock[0]() if _clock else datetime.now(UTC)


def set_credentials_clock(clock: Callable[[], datetime] | None) -> None:
    """Use `clock` (aware datetimes) to decide when assumed credentials expire.

    For tests that move time forward; None goes back to the system clock. Clears caches.
    """
    _clock[:] = [clock] if clock else []
    clear_caches()


class _AssumedRoleCredentials(botocore.credentials.DeferredRefreshableCredentials):  # type: ignore[misc]
    # botocore renews 15 minutes ahead by default: with 15-minute sessions (the AWS
    # minimum and our default) that would mean one AssumeRole per request.
    _advisory_refresh_timeout = int(REFRESH_BEFORE.total_seconds())
    _mandatory_refresh_timeout = 60


class _FixedProvider(botocore.credentials.CredentialProvider):  # type: ignore[misc]
    METHOD = "sluice-assume-role"

    def __init__(self, credentials: botocore.credentials.Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> botocore.credentials.Credentials:
        return self._credentials


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def _fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\x00".join(p or "" for p in parts).encode()).hexdigest()[:16]


def _source_session(conn: AwsConnection) -> boto3.Session:
    if conn.access_key_id and conn.secret_key_id:
        return boto3.Session(
            aws_access_key_id=conn.access_key_id,
            aws_secret_access_key=conn.secret_key_id.get_secret_value(),
            aws_session_token=_secret(conn.session_token),
            region_name=conn.region,
        )
    return boto3.Session(region_name=conn.region)


def _role_key(conn: AwsConnection) -> tuple[str, ...]:
    return (
        conn.sts_role_arn or "",
        conn.sts_role_session_name or "",
        _fingerprint(
            _secret(conn.sts_role_external_id),
            conn.access_key_id,
            _secret(conn.secret_key_id),
            _secret(conn.session_token),
        ),
        conn.sts_endpoint_override or conn.endpoint_override or "",
        conn.region or "",
        str(int(conn.sts_role_session_duration.total_seconds())),
    )


def _assume_role(conn: AwsConnection) -> dict[str, str]:
    """One AssumeRole call with the source credentials, as botocore metadata."""
    assert conn.sts_role_arn is not None
    sts = _source_session(conn).client(
        "sts",
        endpoint_url=conn.sts_endpoint_override or conn.endpoint_override,
        config=_CONFIG,
    )
    kwargs: dict[str, Any] = {
        "RoleArn": conn.sts_role_arn,
        "RoleSessionName": conn.sts_role_session_name or "sluice",
        "DurationSeconds": int(conn.sts_role_session_duration.total_seconds()),
    }
    if conn.sts_role_external_id:
        kwargs["ExternalId"] = conn.sts_role_external_id.get_secret_value()
    with aws_errors(f"sts:AssumeRole {conn.sts_role_arn}"):
        creds = sts.assume_role(**kwargs)["Credentials"]
    expires: datetime = creds["Expiration"]
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return {
        "access_key": creds["AccessKeyId"],
        "secret_key": creds["SecretAccessKey"],
        "token": creds["SessionToken"],
        "expiry_time": expires.isoformat(),
    }


def _role_credentials(conn: AwsConnection) -> botocore.credentials.Credentials:
    key = _role_key(conn)
    with _lock:
        creds = _roles.get(key)
        if creds is None:
            creds = _AssumedRoleCredentials(
                refresh_using=lambda: _assume_role(conn),
                method=_FixedProvider.METHOD,
                time_fetcher=_now,
            )
            _roles[key] = creds
    return creds


def session(conn: AwsConnection) -> boto3.Session:
    """A boto3 session: assumed role, else static keys, else the default chain."""
    if not conn.sts_role_arn:
        return _source_session(conn)
    core = botocore.session.Session()
    resolver = botocore.credentials.CredentialResolver(
        [_FixedProvider(_role_credentials(conn))]
    )
    core.register_component("credential_provider", resolver)
    return boto3.Session(botocore_session=core, region_name=conn.region)


def resolved_credentials(conn: AwsConnection) -> dict[str, str]:
    """The credentials a task would use, as environment variables (for `aws` CLI)."""
    creds = session(conn).get_credentials()
    if creds is None:
        return {}
    frozen = creds.get_frozen_credentials()
    env = {
        "AWS_ACCESS_KEY_ID": frozen.access_key,
        "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
    }
    if frozen.token:
        env["AWS_SESSION_TOKEN"] = frozen.token
    return env


def _client(conn: AwsConnection, service: str) -> Any:
    if conn.sts_role_arn:
        ident = "role:" + _fingerprint(*_role_key(conn))
    else:
        ident = _fingerprint(
            conn.access_key_id, _secret(conn.secret_key_id), _secret(conn.session_token)
        )
    key = (service, conn.region or "", conn.endpoint_override or "", ident)
    with _lock:
        client = _clients.get(key)
        if client is not None:
            _clients.move_to_end(key)
            return client
    client = session(conn).client(
        service, endpoint_url=conn.endpoint_override, config=_CONFIG
    )
    with _lock:
        _clients[key] = client
        # Bounded: rotated static keys would otherwise add a client per rotation.
        while len(_clients) > _MAX_CLIENTS:
            _clients.popitem(last=False)
    return client


def clear_caches() -> None:
    """Forget cached assumed-role credentials and clients (tests, key rotation)."""
    with _lock:
        _roles.clear()
        _clients.clear()


class AwsTask(Task, AwsConnection):
    """Base of every AWS task: the connection properties plus `run`."""


class AwsPollingTrigger(PollingTrigger, AwsConnection):
    """Base of every AWS polling trigger: the connection properties plus `poll`."""


__all__ = [
    "REFRESH_BEFORE",
    "AwsConnection",
    "AwsPollingTrigger",
    "AwsTask",
    "aws_errors",
    "check_endpoint",
    "clear_caches",
    "resolved_credentials",
    "session",
    "set_credentials_clock",
]
