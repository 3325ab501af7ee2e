"""`aws.sns.Publish`: publish one message to an SNS topic."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import Field

from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask

AttributeValue = bool | str | int | float | list[str]
"""A message attribute: text, a number, a boolean (as text) or a list of text."""


class PublishOutputs(TaskOutputs):
    """The id SNS gave the message (and its sequence number on FIFO topics)."""

    message_id: str
    sequence_number: str | None = None


def _attribute(value: AttributeValue) -> dict[str, str]:
    if isinstance(value, bool):
        return {"DataType": "String", "StringValue": str(value).lower()}
    if isinstance(value, int | float):
        return {"DataType": "Number", "StringValue": str(value)}
    if isinstance(value, list):
        return {"DataType": "String.Array", "StringValue": json.dumps(value)}
    return {"DataType": "String", "StringValue": value}


@register_task
class Publish(AwsTask):
    """Publish a message to an SNS topic; text is sent as is, anything else as JSON.

    `messageAttributes` map names to text, numbers or lists of text (SNS's String,
    Number and String.Array types), so subscribers can filter on them. With
    `messageStructure: json`, `message` is an object of one message per protocol
    (`default` required).

    Example:
        ```yaml
        id: sns_publish
        namespace: company.team
        tasks:
          - id: notify
            type: aws.sns.Publish
            region: us-east-1
            topicArn: arn:aws:sns:us-east-1:123456789012:orders
            subject: Order received
            message: {"order": 42, "amount": 12.5}
            messageAttributes:
              kind: order
              priority: 2
        ```
    """

    type_name: ClassVar[str] = "aws.sns.Publish"
    topic_arn: str
    message: JsonValue
    subject: str | None = Field(default=None, max_length=100)
    message_attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    message_structure: Literal["json"] | None = None
    message_group_id: str | None = None
    message_deduplication_id: str | None = None

    async def run(self, ctx: RunContext) -> PublishOutputs:
        """Publish the message."""
        text = (
            self.message if isinstance(self.message, str) else json.dumps(self.message)
        )
        kwargs: dict[str, Any] = {"TopicArn": self.topic_arn, "Message": text}
        if self.subject:
            kwargs["Subject"] = self.subject
        if self.message_attributes:
            kwargs["MessageAttributes"] = {
                name: _attribute(value)
                for name, value in self.message_attributes.items()
            }
        if self.message_structure:
            kwargs["MessageStructure"] = self.message_structure
        if self.message_group_id:
            kwargs["MessageGroupId"] = self.message_group_id
        if self.message_deduplication_id:
            kwargs["MessageDeduplicationId"] = self.message_deduplication_id
        sns = self.client("sns")
        response = await self.call(
            f"sns:Publish {self.topic_arn}", sns.publish, **kwargs
        )
        return PublishOutputs(
            message_id=response["MessageId"],
            sequence_number=response.get("SequenceNumber"),
        )
