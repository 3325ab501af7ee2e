"""`http.Request`: send one HTTP request and return its status, headers and body."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, ClassVar

import httpx
from pydantic import Field, field_validator

from sluice.core.errors import TaskError
from sluice.core.plugin import PluginModel, RunContext, Task, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.http.client import new_client, public_url, transport_error

MAX_INLINE_BODY = 1024 * 1024
"""Bodies larger than this (bytes) go to internal storage instead of the outputs."""

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class HttpOptions(PluginModel):
    """Client options: timeouts (ISO 8601 durations such as ``PT10S``) and redirects."""

    connect_timeout: timedelta = timedelta(seconds=10)
    read_timeout: timedelta = timedelta(seconds=60)
    follow_redirects: bool = True


class RequestOutputs(TaskOutputs):
    """The answer: `code`, `headers` (lower-cased name to values), `body` or `uri`.

    `body` is the parsed JSON when the answer is JSON, else its text; a body over 1 MiB
    is stored instead and `uri` names it (then `body` is None).
    """

    code: int
    headers: dict[str, list[str]]
    body: Any = None
    uri: str | None = None
    length: int = 0


@register_task
class Request(Task):
    """Send an HTTP request; a non-2xx answer fails the task unless `allowFailed`.

    A JSON object or list `body` is sent as JSON. A string body is sent as it is, with
    `contentType` as its Content-Type (``application/json`` by default, as in Kestra)
    unless `headers` sets one. Connection failures and timeouts are retryable; 429 and
    5xx answers are retryable, other 4xx answers are not.

    Example:
        ```yaml
        id: call_api
        namespace: company.team
        tasks:
          - id: create_item
            type: http.Request
            uri: https://api.example.com/items
            method: POST
            headers:
              Authorization: "Bearer {{ secret('API_TOKEN') }}"
            body:
              name: widget
            options:
              readTimeout: PT30S
          - id: log_id
            type: log.Log
            message: "created {{ outputs.create_item.body.id }}"
        ```
    """

    type_name: ClassVar[str] = "http.Request"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.core.http.Request",)

    uri: str
    method: str = "GET"
    # Headers and bodies often carry tokens: keep them out of reprs.
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    body: str | dict[str, Any] | list[Any] | None = Field(default=None, repr=False)
    content_type: str = "application/json"
    options: HttpOptions = Field(default_factory=HttpOptions)
    allow_failed: bool = False

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        method = value.upper()
        if method not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(_METHODS)}")
        return method

    async def run(self, ctx: RunContext) -> RequestOutputs:
        """Send the request and read the answer (spilling large bodies to storage)."""
        where = f"{self.method} {public_url(self.uri)}"
        client = new_client(
            self.options.connect_timeout,
            self.options.read_timeout,
            self.options.follow_redirects,
        )
        try:
            async with (
                client,
                client.stream(
                    self.method,
                    self.uri,
                    headers=self._headers(),
                    content=self._content(),
                ) as response,
            ):
                ctx.info(f"{where}: HTTP {response.status_code}")
                body = await _read_body(response.aiter_bytes())
        except httpx.InvalidURL as err:
            raise TaskError(f"{where}: invalid URL ({err})", retryable=False) from err
        except httpx.HTTPError as err:
            raise transport_error(err, where) from err
        try:
            outputs = await self._outputs(ctx, response, body)
        finally:
            body.discard()
        if not (200 <= response.status_code < 300 or self.allow_failed):
            raise _status_error(where, response.status_code, body)
        return outputs

    def _headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        has_type = any(k.lower() == "content-type" for k in headers)
        if self.body is not None and not has_type:
            is_text = isinstance(self.body, str)
            headers["Content-Type"] = (
                self.content_type if is_text else "application/json"
            )
        return headers

    def _content(self) -> bytes | None:
        if self.body is None:
            return None
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()

    async def _outputs(
        self, ctx: RunContext, response: httpx.Response, body: _Body
    ) -> RequestOutputs:
        headers: dict[str, list[str]] = {}
        for name, value in response.headers.multi_items():
            headers.setdefault(name, []).append(value)
        common = {"code": response.status_code, "headers": headers, "length": body.size}
        if body.spilled is None:
            return RequestOutputs(**common, body=_decode(response, bytes(body.inline)))
        media = response.headers.get("content-type", "").split(";")[0].strip()
        name = "body" + (mimetypes.guess_extension(media) or ".bin")
        path = ctx.storage_path(name)
        uri = await asyncio.to_thread(ctx.storage.put_file, path, body.spilled)
        ctx.info(f"response body of {body.size} bytes stored as {uri}")
        return RequestOutputs(**common, uri=uri)


class _Body:
    """A response body kept in memory up to `MAX_INLINE_BODY`, then in a temp file."""

    def __init__(self) -> None:
        self.inline = bytearray()
        self.spilled: str | None = None
        self.size = 0
        self._file: Any = None

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._file is None and self.size > MAX_INLINE_BODY:
            fd, self.spilled = tempfile.mkstemp(prefix="sluice-http-")
            self._file = os.fdopen(fd, "wb")
            self._file.write(self.inline)
            self.inline.clear()
        if self._file is not None:
            self._file.write(chunk)
        else:
            self.inline.extend(chunk)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def discard(self) -> None:
        if self.spilled is not None:
            os.unlink(self.spilled)


async def _read_body(chunks: AsyncIterator[bytes]) -> _Body:
    body = _Body()
    try:
        async for chunk in chunks:
            body.write(chunk)
    except BaseException:
        body.close()
        body.discard()
        raise
    body.close()
    return body


def _decode(response: httpx.Response, data: bytes) -> Any:
    text = data.decode(response.charset_encoding or "utf-8", errors="replace")
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text  # a server that mislabels its answer still gets it shown
    return text


def _status_error(where: str, code: int, body: _Body) -> TaskError:
    retryable = code == 429 or code >= 500
    snippet = bytes(body.inline[:500]).decode("utf-8", errors="replace").strip()
    detail = f": {snippet}" if snippet else ""
    return TaskError(
        f"{where}: HTTP {code}{detail}", retryable=retryable, error_type=f"Http{code}"
    )
