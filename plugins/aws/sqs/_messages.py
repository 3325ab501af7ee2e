"""What the SQS tasks and trigger share: messages, receive and delete."""

from __future__ import annotations

import contextlib
import json
from enum import StrEnum
from typing import Any

from pydantic import Field

from sluice.core.events import JsonValue
from sluice.core.plugin import PluginModel
from sluice.plugins.aws._connection import AwsConnection

BATCH = 10
"""SQS takes at most ten messages per batch call."""


class SerdeType(StrEnum):
    """How message bodies are read: as text, or parsed as JSON (text if not JSON)."""

    STRING = "STRING"
    JSON = "JSON"


class Message(PluginModel):
    """One message to send: `data` (text as is, anything else as JSON) and options."""

    data: JsonValue
    group_id: str | None = None
    deduplication_id: str | None = None
    delay_seconds: int | None = Field(default=None, ge=0, le=900)

    def body(self) -> str:
        """The message body SQS receives."""
        return self.data if isinstance(self.data, str) else json.dumps(self.data)

    def entry(self, entry_id: str) -> dict[str, Any]:
        """The `SendMessageBatch` entry for this message."""
        entry: dict[str, Any] = {"Id": entry_id, "MessageBody": self.body()}
        if self.group_id:
            entry["MessageGroupId"] = self.group_id
        if self.deduplication_id:
            entry["MessageDeduplicationId"] = self.deduplication_id
        if self.delay_seconds is not None:
            entry["DelaySeconds"] = self.delay_seconds
        return entry


def received(message: dict[str, Any], serde: SerdeType) -> dict[str, JsonValue]:
    """A received message as JSON: `data` (parsed when JSON serde) and its metadata."""
    data: JsonValue = message.get("Body", "")
    if serde is SerdeType.JSON:
        # A body that is not JSON is delivered as text, never dropped.
        with contextlib.suppress(ValueError):
            data = json.loads(data)
    attributes = {
        name: value.get("StringValue", value.get("BinaryValue"))
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "data": data,
        "messageId": message["MessageId"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
    }


async def receive(
    conn: AwsConnection,
    queue_url: str,
    *,
    max_messages: int,
    wait_seconds: int,
    visibility_timeout: int,
) -> list[dict[str, Any]]:
    """One `ReceiveMessage` (long poll of `wait_seconds`), with every attribute."""
    sqs = conn.client("sqs")
    response = await conn.call(
        f"sqs:ReceiveMessage {queue_url}",
        sqs.receive_message,
        QueueUrl=queue_url,
        MaxNumberOfMessages=max(1, min(BATCH, max_messages)),
        WaitTimeSeconds=max(0, min(20, wait_seconds)),
        VisibilityTimeout=visibility_timeout,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


async def delete(conn: AwsConnection, queue_url: str, handles: list[str]) -> list[str]:
    """Delete messages by receipt handle, ten at a time; the reasons of any failures."""
    sqs = conn.client("sqs")
    failures: list[str] = []
    for start in range(0, len(handles), BATCH):
        chunk = handles[start : start + BATCH]
        response = await conn.call(
            f"sqs:DeleteMessageBatch {queue_url}",
            sqs.delete_message_batch,
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)],
        )
        failures.extend(
            f"{f.get('Code', '?')}: {f.get('Message', '')}"
            for f in response.get("Failed", [])
        )
    return failures
