import json

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.sns import Publish
from tests.fixtures_aws import REGION
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws


@pytest.fixture
def topic_and_queue(moto_url):
    """A topic with an SQS subscriber; returns (topic ARN, queue URL)."""
    sns = boto3.client("sns", endpoint_url=moto_url, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    topic = sns.create_topic(Name="orders")["TopicArn"]
    queue = sqs.create_queue(QueueName="orders-sub")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
    )
    return topic, queue


def _delivered(moto_url, queue):
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    return json.loads(message["Body"])


async def test_publish_delivers_json_message_with_subject_and_attributes(
    moto_url, topic_and_queue, tmp_path
):
    topic, queue = topic_and_queue
    task = Publish.model_validate(
        {
            "topicArn": topic,
            "subject": "Order received",
            "message": {"order": 42},
            "messageAttributes": {
                "kind": "order",
                "priority": 2,
                "urgent": True,
                "tags": ["a", "b"],
            },
            "endpointOverride": moto_url,
        }
    )

    out = await task.run(make_run_context(tmp_path))

    envelope = _delivered(moto_url, queue)
    assert envelope["MessageId"] == out.message_id
    assert json.loads(envelope["Message"]) == {"order": 42}
    assert envelope["Subject"] == "Order received"
    attributes = envelope["MessageAttributes"]
    assert attributes["priority"] == {"Type": "Number", "Value": "2"}
    assert attributes["urgent"] == {"Type": "String", "Value": "true"}
    assert attributes["tags"]["Type"] == "String.Array"


async def test_publish_sends_text_as_is(moto_url, topic_and_queue, tmp_path):
    topic, queue = topic_and_queue
    task = Publish.model_validate(
        {"topicArn": topic, "message": "hello", "endpointOverride": moto_url}
    )

    await task.run(make_run_context(tmp_path))

    assert _delivered(moto_url, queue)["Message"] == "hello"


async def test_publish_fails_not_retryable_when_topic_is_missing(moto_url, tmp_path):
    task = Publish.model_validate(
        {
            "topicArn": "arn:aws:sns:us-east-1:123456789012:nope",
            "message": "hello",
            "endpointOverride": moto_url,
        }
    )

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "sns:Publish arn:aws:sns:us-east-1:123456789012:nope failed" in (
        err.value.message
    )
    assert not err.value.retryable
