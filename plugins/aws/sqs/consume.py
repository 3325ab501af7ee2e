"""`aws.sqs.Consume`: read messages into a storage file, then delete them."""

from __future__ import annotations

import asyncio
import json
import math
import time
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field, model_validator

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.sqs._messages import BATCH, SerdeType, delete, receive, received


class ConsumeOutputs(TaskOutputs):
    """The JSON-lines file of messages and how many it holds."""

    uri: str
    count: int
    warning: str | None = None


@register_task
class Consume(AwsTask):
    """Read messages from an SQS queue into a JSON-lines file in internal storage.

    Reading stops at `maxRecords`, at `maxDuration`, or (without `maxDuration`) when a
    receive finds the queue empty. Each line is `{data, messageId, attributes,
    messageAttributes}`; with `serdeType: JSON` a JSON body is parsed. Messages are
    deleted only after the file is stored, so a crash re-delivers them rather than
    losing them. Deletes that fail do not fail the task: it ends in WARNING (the
    `warning` output), as those messages will be delivered again.

    Example:
        ```yaml
        id: sqs_consume
        namespace: company.team
        tasks:
          - id: consume
            type: aws.sqs.Consume
            region: us-east-1
            queueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/orders
            maxRecords: 500
            maxDuration: PT1M
            serdeType: JSON
        ```
    """

    type_name: ClassVar[str] = "aws.sqs.Consume"
    queue_url: str
    max_records: int | None = Field(default=None, ge=1)
    max_duration: timedelta | None = None
    visibility_timeout: int = Field(default=30, ge=0, le=43200)
    wait_time: timedelta = timedelta(seconds=1)
    serde_type: SerdeType = SerdeType.STRING
    auto_delete: bool = True

    @model_validator(mode="after")
    def _bounded(self) -> Consume:
        if self.max_records is None and self.max_duration is None:
            raise ValueError("give maxRecords, maxDuration or both")
        return self

    async def run(self, ctx: RunContext) -> ConsumeOutputs:
        """Receive, store, then delete."""
        messages = await self._receive_all()
        lines = "".join(
            json.dumps(received(m, self.serde_type), ensure_ascii=False) + "\n"
            for m in messages.values()
        )
        path = ctx.storage_path("messages.jsonl")
        uri = await asyncio.to_thread(ctx.storage.put_bytes, path, lines.encode())
        warning = None
        if self.auto_delete and messages:
            handles = [m["ReceiptHandle"] for m in messages.values()]
            if failures := await delete(self, self.queue_url, handles):
                warning = (
                    f"{len(failures)} of {len(handles)} messages were not deleted and "
                    f"will be delivered again: {failures[0]}"
                )
                ctx.warning(warning)
        return ConsumeOutputs(uri=uri, count=len(messages), warning=warning)

    async def _receive_all(self) -> dict[str, dict[str, Any]]:
        """Messages by id; one seen twice (visibility ran out) keeps its last handle."""
        # An elapsed-time budget for this attempt, not a point in the flow's time.
        deadline = (
            time.monotonic() + self.max_duration.total_seconds()
            if self.max_duration is not None
            else None
        )
        messages: dict[str, dict[str, Any]] = {}
        while self.max_records is None or len(messages) < self.max_records:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            wait = int(self.wait_time.total_seconds())
            want = (
                BATCH if self.max_records is None else self.max_records - len(messages)
            )
            batch = await receive(
                self,
                self.queue_url,
                max_messages=want,
                wait_seconds=wait if left is None else min(wait, math.ceil(left)),
                visibility_timeout=self.visibility_timeout,
            )
            if not batch and deadline is None:
                break
            messages.update((m["MessageId"], m) for m in batch)
        return messages
