"""`aws.sqs.Trigger`: one execution per SQS message, deleted once it is recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from sluice.core.plugin import Fire, PollResult, TriggerContext
from sluice.core.registry import register_trigger
from sluice.plugins.aws._connection import AwsPollingTrigger
from sluice.plugins.aws.sqs._messages import SerdeType, delete, receive, received


@register_trigger
class Trigger(AwsPollingTrigger):
    """Start one execution per message of an SQS queue, exactly once.

    Every `interval` the trigger receives up to `maxRecords` messages. Each becomes a
    fire keyed by its message id, with `trigger.data` (the body, parsed with
    `serdeType: JSON`), `trigger.messageId`, `trigger.attributes`,
    `trigger.messageAttributes` and `trigger.receiptHandle`. A message is deleted only
    after its execution is recorded (`after_fire`); if that delete is lost, the
    message comes back, is recognised by its id, and is deleted without a second
    execution. Unlike Kestra's trigger, a crash never loses a message.

    Example:
        ```yaml
        id: sqs_each_order
        namespace: company.team
        triggers:
          - id: orders
            type: aws.sqs.Trigger
            region: us-east-1
            queueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/orders
            interval: PT30S
            serdeType: JSON
        tasks:
          - id: log
            type: core.Log
            message: "{{ trigger.data }}"
        ```
    """

    type_name: ClassVar[str] = "aws.sqs.Trigger"
    queue_url: str
    max_records: int = Field(default=10, ge=1, le=1000)
    visibility_timeout: int = Field(default=60, ge=1, le=43200)
    wait_time: timedelta = timedelta(seconds=1)
    serde_type: SerdeType = SerdeType.STRING

    def key(self, message_id: str) -> str:
        """The idempotency key of a message's fire."""
        return f"aws.sqs:{self.queue_url}#{message_id}"

    async def poll(self, ctx: TriggerContext) -> PollResult:
        """Receive messages; fire for the new ones, delete those that fired before."""
        messages = await self._receive()
        keys = {self.key(m["MessageId"]): m for m in messages}
        done = ctx.already_fired(list(keys))
        if done:
            # Their executions exist; only the delete was lost.
            await delete(self, self.queue_url, [keys[k]["ReceiptHandle"] for k in done])
        fires = [
            Fire(
                idempotency_key=key,
                variables={
                    **received(message, self.serde_type),
                    "receiptHandle": message["ReceiptHandle"],
                },
            )
            for key, message in keys.items()
            if key not in done
        ]
        return PollResult(fires=fires, cursor=ctx.cursor)

    async def after_fire(
        self, ctx: TriggerContext, fire: Fire, execution_id: str
    ) -> None:
        """Delete the message: its execution is recorded."""
        handle = str(fire.variables["receiptHandle"])
        sqs = self.client("sqs")
        await self.call(
            f"sqs:DeleteMessage {self.queue_url}",
            sqs.delete_message,
            QueueUrl=self.queue_url,
            ReceiptHandle=handle,
        )

    async def _receive(self) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        while len(found) < self.max_records:
            batch = await receive(
                self,
                self.queue_url,
                max_messages=self.max_records - len(found),
                wait_seconds=int(self.wait_time.total_seconds()) if not found else 0,
                visibility_timeout=self.visibility_timeout,
            )
            if not batch:
                break
            found.update((m["MessageId"], m) for m in batch)
        return list(found.values())
