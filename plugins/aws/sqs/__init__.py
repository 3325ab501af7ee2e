"""Amazon SQS tasks and trigger (`aws.sqs.*`)."""

from sluice.plugins.aws.sqs._messages import Message, SerdeType
from sluice.plugins.aws.sqs.consume import Consume, ConsumeOutputs
from sluice.plugins.aws.sqs.get_queue_depth import GetQueueDepth, QueueDepthOutputs
from sluice.plugins.aws.sqs.publish import Publish, PublishOutputs
from sluice.plugins.aws.sqs.trigger import Trigger

__all__ = [
    "Consume",
    "ConsumeOutputs",
    "GetQueueDepth",
    "Message",
    "Publish",
    "PublishOutputs",
    "QueueDepthOutputs",
    "SerdeType",
    "Trigger",
]
