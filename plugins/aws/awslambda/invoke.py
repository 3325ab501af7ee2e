"""`aws.lambda.Invoke`: call a Lambda function synchronously and keep its response."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any, ClassVar

from pydantic import model_validator

from sluice.core.errors import TaskError
from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask

PAYLOAD_OUTPUT_LIMIT = 64 * 1024
"""Responses up to this size (bytes) that are JSON are also returned parsed."""


class InvokeOutputs(TaskOutputs):
    """The stored response body and, when it is small JSON, the parsed `payload`."""

    uri: str
    content_type: str
    content_length: int
    status_code: int
    executed_version: str | None = None
    payload: JsonValue = None


@register_task
class Invoke(AwsTask):
    """Invoke a Lambda function (by name, ARN, version or alias) and store its response.

    The response body goes to internal storage (`uri`); a JSON body of up to 64 KiB is
    also returned parsed as `payload`. A function error (`FunctionError` in the
    response) fails the task with the function's `errorType: errorMessage`. The last
    4 KiB of the function's log are copied into the task log.

    Example:
        ```yaml
        id: lambda_invoke
        namespace: company.team
        tasks:
          - id: invoke
            type: aws.lambda.Invoke
            region: us-east-1
            functionArn: arn:aws:lambda:us-east-1:123456789012:function:resize
            qualifier: live
            functionPayload:
              bucket: images
              key: cat.png
        ```
    """

    type_name: ClassVar[str] = "aws.lambda.Invoke"
    function_arn: str | None = None
    function_name: str | None = None
    qualifier: str | None = None
    function_payload: JsonValue = None

    @model_validator(mode="after")
    def _one_function(self) -> Invoke:
        if bool(self.function_arn) == bool(self.function_name):
            raise ValueError("give exactly one of functionArn or functionName")
        return self

    @property
    def function(self) -> str:
        """The function as Lambda takes it: name, partial or full ARN."""
        return self.function_arn or self.function_name or ""

    async def run(self, ctx: RunContext) -> InvokeOutputs:
        """Invoke the function, store the body, fail on a function error."""
        kwargs: dict[str, Any] = {
            "FunctionName": self.function,
            "InvocationType": "RequestResponse",
            "LogType": "Tail",
        }
        if self.qualifier:
            kwargs["Qualifier"] = self.qualifier
        if self.function_payload is not None:
            kwargs["Payload"] = json.dumps(self.function_payload).encode()
        client = self.client("lambda")
        what = f"lambda:Invoke {self.function}"
        response = await self.call(what, client.invoke, **kwargs)
        body: bytes = await asyncio.to_thread(response["Payload"].read)
        _log_tail(ctx, response.get("LogResult"))
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        content_type = headers.get("content-type") or "application/octet-stream"
        if response.get("FunctionError"):
            raise _function_error(what, response["FunctionError"], body)
        name = "response.json" if "json" in content_type else "response.bin"
        uri = await asyncio.to_thread(
            ctx.storage.put_bytes, ctx.storage_path(name), body
        )
        return InvokeOutputs(
            uri=uri,
            content_type=content_type,
            content_length=len(body),
            status_code=int(response.get("StatusCode", 0)),
            executed_version=response.get("ExecutedVersion"),
            payload=_small_json(body),
        )


def _small_json(body: bytes) -> JsonValue:
    if len(body) > PAYLOAD_OUTPUT_LIMIT:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _log_tail(ctx: RunContext, log_result: str | None) -> None:
    if not log_result:
        return
    text = base64.b64decode(log_result).decode("utf-8", errors="replace")
    for line in text.splitlines():
        if line.strip():
            ctx.info(f"[lambda] {line}")


def _function_error(what: str, kind: str, body: bytes) -> TaskError:
    """The function's own error; a retry may succeed, so it is retryable."""
    detail = body[:2000].decode("utf-8", errors="replace")
    error_type = f"Lambda.{kind}"
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        error_type = str(parsed.get("errorType") or error_type)
        detail = f"{error_type}: {parsed['errorMessage']}"
    return TaskError(
        f"{what}: function error ({kind}): {detail}",
        retryable=True,
        error_type=error_type,
    )
