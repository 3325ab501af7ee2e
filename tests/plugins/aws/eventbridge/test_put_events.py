import json

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.eventbridge import PutEvents
from tests.fixtures_aws import REGION
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws


@pytest.fixture
def bus_to_queue(moto_url):
    """A bus `orders` whose rule sends every company.shop event to a queue."""
    events = boto3.client("events", endpoint_url=moto_url, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    events.create_event_bus(Name="orders")
    queue = sqs.create_queue(QueueName="orders-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(
        Name="all",
        EventBusName="orders",
        EventPattern=json.dumps({"source": ["company.shop"]}),
    )
    events.put_targets(
        Rule="all",
        EventBusName="orders",
        Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}],
    )
    return queue


def _received(moto_url, queue):
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    bodies = []
    while got := sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages"):
        bodies.extend(json.loads(m["Body"]) for m in got)
    return bodies


def _entry(n, **extra):
    return {
        "eventBusName": "orders",
        "source": "company.shop",
        "detailType": "OrderPlaced",
        "detail": {"order": n},
        **extra,
    }


async def test_put_events_sends_every_entry_in_batches(
    moto_url, bus_to_queue, tmp_path
):
    task = PutEvents.model_validate(
        {"entries": [_entry(n) for n in range(12)], "endpointOverride": moto_url}
    )

    out = await task.run(make_run_context(tmp_path))

    assert (out.entry_count, out.failed_entry_count, out.warning) == (12, 0, None)
    assert all(e.event_id for e in out.entries)
    delivered = _received(moto_url, bus_to_queue)
    assert sorted(e["detail"]["order"] for e in delivered) == list(range(12))


async def test_put_events_warns_entry_by_entry_when_some_fail(
    moto_url, bus_to_queue, tmp_path
):
    entries = [
        _entry(1),
        {**_entry(2), "detail": "{not json"},
        {"EventBusName": "orders", "Source": "company.shop", "DetailType": "X"},
    ]
    task = PutEvents.model_validate({"entries": entries, "endpointOverride": moto_url})
    ctx = make_run_context(tmp_path)

    out = await task.run(ctx)

    assert out.failed_entry_count == 1
    assert out.entries[1].error_code == "MalformedDetail"
    assert out.entries[0].event_id
    assert out.entries[2].event_id
    assert out.warning == (
        "1 of 3 events failed; first, entry 1: MalformedDetail: Detail is malformed."
    )
    assert ctx.logger.warnings == [out.warning]


async def test_put_events_fails_when_every_entry_fails(
    moto_url, bus_to_queue, tmp_path
):
    task = PutEvents.model_validate(
        {
            "entries": [{**_entry(n), "detail": "{bad"} for n in range(2)],
            "endpointOverride": moto_url,
        }
    )

    with pytest.raises(TaskError, match="2 of 2 events failed"):
        await task.run(make_run_context(tmp_path))


async def test_put_events_fails_on_any_failure_when_asked(
    moto_url, bus_to_queue, tmp_path
):
    task = PutEvents.model_validate(
        {
            "entries": [_entry(1), {**_entry(2), "detail": "{bad"}],
            "failOnUnsuccessfulEvents": True,
            "endpointOverride": moto_url,
        }
    )

    with pytest.raises(TaskError, match="1 of 2 events failed"):
        await task.run(make_run_context(tmp_path))


async def test_put_events_fails_when_bus_is_missing(moto_url, tmp_path):
    task = PutEvents.model_validate(
        {
            "entries": [{**_entry(1), "eventBusName": "nope"}],
            "endpointOverride": moto_url,
        }
    )

    with pytest.raises(TaskError, match="events:PutEvents failed: ResourceNotFound"):
        await task.run(make_run_context(tmp_path))
