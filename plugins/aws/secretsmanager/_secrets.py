"""What the Secrets Manager tasks share: masking values, keeping them out of errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sluice.core.errors import TaskError
from sluice.core.plugin import REDACTED, RunContext
from sluice.plugins.aws._connection import AwsConnection


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)


def mask_secret(ctx: RunContext, value: str) -> None:
    """Mask a secret in logs, and each text field of it when it is a JSON object.

    A JSON secret's fields are often logged alone (`{{ secret.password }}`).
    """
    ctx.mask(value)
    try:
        parsed = json.loads(value)
    except ValueError:
        return
    if isinstance(parsed, dict | list):
        for leaf in _leaves(parsed):
            ctx.mask(leaf)


async def call_with_secret(
    conn: AwsConnection, what: str, fn: Callable[..., Any], secret: str, **kwargs: Any
) -> Any:
    """`conn.call`, with the secret value scrubbed from any error message."""
    try:
        return await conn.call(what, fn, **kwargs)
    except TaskError as err:
        if secret and secret in err.message:
            raise TaskError(
                err.message.replace(secret, REDACTED),
                retryable=err.retryable,
                error_type=err.error_type,
            ) from None  # the chained botocore error would carry the value
        raise
