import boto3
import pytest

from tests.fixtures_aws import REGION


@pytest.fixture
def sqs(moto_url):
    """A boto3 SQS client on the moto server."""
    return boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)


@pytest.fixture
def queue(sqs, request):
    """A standard queue named after the test; yields its URL."""
    name = request.node.name.replace("_", "-")[:70]
    return sqs.create_queue(QueueName=name)["QueueUrl"]


def drain(sqs, queue_url):
    """Every body visible in the queue (received with a long visibility timeout)."""
    bodies = []
    while True:
        got = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300
        ).get("Messages", [])
        if not got:
            return bodies
        bodies.extend(m["Body"] for m in got)


def depth(sqs, queue_url):
    """(visible, in flight) approximate counts."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    a = attrs["Attributes"]
    return (
        int(a["ApproximateNumberOfMessages"]),
        int(a["ApproximateNumberOfMessagesNotVisible"]),
    )
