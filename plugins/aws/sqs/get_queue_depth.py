"""`aws.sqs.GetQueueDepth`: how many messages wait, are in flight, or are delayed."""

from __future__ import annotations

from typing import ClassVar

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask

_VISIBLE = "ApproximateNumberOfMessages"
_IN_FLIGHT = "ApproximateNumberOfMessagesNotVisible"
_DELAYED = "ApproximateNumberOfMessagesDelayed"


class QueueDepthOutputs(TaskOutputs):
    """SQS's approximate counts (they lag real traffic by up to a minute)."""

    visible: int
    in_flight: int
    delayed: int
    total: int


@register_task
class GetQueueDepth(AwsTask):
    """Read a queue's approximate message counts, e.g. to decide whether to scale.

    Example:
        ```yaml
        id: sqs_depth
        namespace: company.team
        tasks:
          - id: depth
            type: aws.sqs.GetQueueDepth
            region: us-east-1
            queueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/orders
        ```
    """

    type_name: ClassVar[str] = "aws.sqs.GetQueueDepth"
    queue_url: str

    async def run(self, ctx: RunContext) -> QueueDepthOutputs:
        """Fetch the three approximate counts."""
        sqs = self.client("sqs")
        response = await self.call(
            f"sqs:GetQueueAttributes {self.queue_url}",
            sqs.get_queue_attributes,
            QueueUrl=self.queue_url,
            AttributeNames=[_VISIBLE, _IN_FLIGHT, _DELAYED],
        )
        attributes = response.get("Attributes", {})
        visible = int(attributes.get(_VISIBLE, 0))
        in_flight = int(attributes.get(_IN_FLIGHT, 0))
        delayed = int(attributes.get(_DELAYED, 0))
        return QueueDepthOutputs(
            visible=visible,
            in_flight=in_flight,
            delayed=delayed,
            total=visible + in_flight + delayed,
        )
