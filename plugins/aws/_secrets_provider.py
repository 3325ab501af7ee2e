"""`secret('NAME')` from AWS Secrets Manager: the secret ``<prefix><NAME>``.

A `SecretProvider` (see `sluice.core.ports`) for `ChainSecretProvider`. The secret's
current version is read (`SecretString`, or `SecretBinary` decoded as UTF-8). A secret
that does not exist gives None, so the chain asks the next provider; any other failure
(access denied, throttling) is a `TaskError` naming the call, since a task that needs
the secret cannot run. Values (and misses) are cached for `ttl` so that rendering many
task runs does not call AWS for each; the cache is per provider and in memory only.

`get` is synchronous (the port is): call it from a worker thread, not the event loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sluice.core.errors import TaskError
from sluice.plugins.aws._connection import AwsConnection, aws_errors

_MISSING_CODES = {"ResourceNotFoundException"}


class SecretsManagerProvider:
    """Reads secrets named ``<prefix><NAME>`` from AWS Secrets Manager.

    Args:
        connection: the AWS connection (an `AwsConnection`, or its camelCase
            properties: region, endpointOverride, stsRoleArn, ...).
        prefix: put before every name, e.g. ``"sluice/prod/"``.
        ttl: how long a value (or a miss) is reused before asking AWS again.
    """

    def __init__(
        self,
        connection: AwsConnection | Mapping[str, Any] | None = None,
        prefix: str = "",
        ttl: timedelta = timedelta(minutes=1),
    ) -> None:
        if connection is None or isinstance(connection, Mapping):
            connection = AwsConnection.model_validate(dict(connection or {}))
        self.connection = connection
        self.prefix = prefix
        self.ttl = ttl.total_seconds()
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SecretsManagerProvider(prefix={self.prefix!r})"

    def get(self, name: str) -> str | None:
        """The secret's current value, or None if Secrets Manager has no such secret."""
        secret_id = self.prefix + name
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(secret_id)
        if cached is not None and now - cached[1] < self.ttl:
            return cached[0]
        value = self._fetch(secret_id)
        with self._lock:
            self._cache[secret_id] = (value, now)
        return value

    def clear(self) -> None:
        """Forget cached values (after a rotation)."""
        with self._lock:
            self._cache.clear()

    def _fetch(self, secret_id: str) -> str | None:
        client = self.connection.client("secretsmanager")
        try:
            with aws_errors(f"secretsmanager:GetSecretValue {secret_id}"):
                response = client.get_secret_value(SecretId=secret_id)
        except TaskError as err:
            if err.error_type in _MISSING_CODES:
                return None
            raise
        if "SecretString" in response:
            return str(response["SecretString"])
        try:
            return bytes(response["SecretBinary"]).decode("utf-8")
        except UnicodeDecodeError:
            # Chaining the decode error would show bytes of the secret.
            raise TaskError(
                f"secret {secret_id!r} is binary, not UTF-8 text",
                error_type="SecretBinary",
            ) from None
