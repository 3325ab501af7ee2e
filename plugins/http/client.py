"""The one place HTTP tasks build clients and translate transport failures.

httpx is asynchronous, so requests never block the scheduler's loop. Its failures are
translated here, once: a connection that cannot be made, a timeout or a dropped
connection is a retryable `TaskError`; a URL that cannot be sent is not.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx

from sluice.core.errors import TaskError

# httpx logs every request line with its full URL at INFO; URLs may hold secrets (Slack
# webhook paths, tokens in query strings), so only its warnings may reach the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)

USER_AGENT = "sluice"
"""The User-Agent sent unless a task's headers name one."""


def new_client(
    connect_timeout: timedelta,
    read_timeout: timedelta,
    follow_redirects: bool = True,
) -> httpx.AsyncClient:
    """An async client with these timeouts (read also bounds writes and pool waits).

    Like curl, it honours the worker's ``HTTPS_PROXY``/``NO_PROXY`` variables.
    """
    read = read_timeout.total_seconds()
    timeout = httpx.Timeout(read, connect=connect_timeout.total_seconds())
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=follow_redirects,
        headers={"User-Agent": USER_AGENT},
    )


def public_url(url: str) -> str:
    """`url` without user info and query string, fit for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def transport_error(err: httpx.HTTPError, what: str) -> TaskError:
    """The `TaskError` for a request to `what` that got no HTTP answer.

    Args:
        err: the httpx failure.
        what: how messages name the target (never a secret).
    """
    if isinstance(err, httpx.TimeoutException):
        kind = "connecting" if isinstance(err, httpx.ConnectTimeout) else "waiting"
        msg = f"{what}: timed out {kind} ({type(err).__name__})"
        return TaskError(msg, retryable=True, error_type="HttpTimeout")
    if isinstance(err, httpx.ConnectError):
        msg = f"{what}: could not connect ({_reason(err)})"
        return TaskError(msg, retryable=True, error_type="HttpConnectError")
    if isinstance(err, httpx.TransportError) and not isinstance(
        err, httpx.UnsupportedProtocol | httpx.LocalProtocolError
    ):
        msg = f"{what}: connection failed ({type(err).__name__}: {_reason(err)})"
        return TaskError(msg, retryable=True, error_type="HttpTransportError")
    msg = f"{what}: the request cannot be sent ({type(err).__name__})"
    return TaskError(msg, retryable=False, error_type="HttpRequestError")


def _reason(err: httpx.HTTPError) -> str:
    # Transport errors carry the OS or protocol reason, never the request URL.
    return str(err) or type(err).__name__
