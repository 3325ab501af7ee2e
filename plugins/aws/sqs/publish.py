"""`aws.sqs.Publish`: send any number of messages to a queue, ten per call."""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

from pydantic import Field

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.sqs._messages import BATCH, Message


class PublishOutputs(TaskOutputs):
    """How many messages were sent."""

    messages_count: int


@register_task
class Publish(AwsTask):
    """Send messages to an SQS queue in batches of ten (SendMessageBatch).

    `from` is one message, a list of messages, or the URI of a JSON-lines file in
    internal storage (one message object or text per line, e.g. what
    `aws.sqs.Consume` wrote). A message is `{data, groupId, deduplicationId,
    delaySeconds}`; text `data` is sent as it is, anything else as JSON. When SQS
    rejects messages the task fails and names them; the batches before were sent.

    Example:
        ```yaml
        id: sqs_publish
        namespace: company.team
        tasks:
          - id: publish
            type: aws.sqs.Publish
            region: us-east-1
            queueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/orders
            from:
              - data: {"order": 1, "amount": 12.5}
              - data: plain text
                delaySeconds: 5
        ```
    """

    type_name: ClassVar[str] = "aws.sqs.Publish"
    queue_url: str
    from_: Message | list[Message] | str = Field(alias="from")

    async def run(self, ctx: RunContext) -> PublishOutputs:
        """Send every message, batch after batch."""
        messages = await self._messages(ctx)
        sqs = self.client("sqs")
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            response = await self.call(
                f"sqs:SendMessageBatch {self.queue_url}",
                sqs.send_message_batch,
                QueueUrl=self.queue_url,
                Entries=[m.entry(str(start + i)) for i, m in enumerate(chunk)],
            )
            if failed := response.get("Failed"):
                raise _rejected(
                    failed, sent=start + len(response.get("Successful", []))
                )
        ctx.info(f"sent {len(messages)} messages to {self.queue_url}")
        return PublishOutputs(messages_count=len(messages))

    async def _messages(self, ctx: RunContext) -> list[Message]:
        if isinstance(self.from_, Message):
            return [self.from_]
        if isinstance(self.from_, list):
            return self.from_
        raw = await asyncio.to_thread(ctx.storage.get_bytes, self.from_)
        return [
            _line_message(line) for line in raw.decode().splitlines() if line.strip()
        ]


def _line_message(line: str) -> Message:
    value = json.loads(line)
    if isinstance(value, dict) and "data" in value:
        known = {"data", "groupId", "deduplicationId", "delaySeconds"}
        return Message.model_validate({k: v for k, v in value.items() if k in known})
    return Message(data=value)


def _rejected(failed: list[dict[str, str]], *, sent: int) -> TaskError:
    reasons = "; ".join(
        f"message {f['Id']}: {f.get('Code', '?')}: {f.get('Message', '')}"
        for f in failed
    )
    # Only SQS-side faults may pass on a retry; a bad message fails the same way again.
    retryable = not any(f.get("SenderFault") for f in failed)
    return TaskError(
        f"SQS rejected {len(failed)} messages ({sent} sent before): {reasons}",
        retryable=retryable,
        error_type="BatchEntryFailed",
    )
