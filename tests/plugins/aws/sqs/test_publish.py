import json

import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.sqs import Publish
from sluice.plugins.aws.sqs.publish import _rejected
from tests.plugin_context import make_run_context
from tests.plugins.aws.sqs.conftest import drain

pytestmark = pytest.mark.aws


async def test_publish_sends_any_number_of_messages_in_batches(
    moto_url, sqs, queue, tmp_path
):
    messages = [{"data": {"n": n}} for n in range(23)]
    task = Publish.model_validate(
        {"queueUrl": queue, "from": messages, "endpointOverride": moto_url}
    )

    out = await task.run(make_run_context(tmp_path))

    assert out.messages_count == 23
    assert sorted(json.loads(b)["n"] for b in drain(sqs, queue)) == list(range(23))


async def test_publish_sends_text_as_is_and_one_message_alone(
    moto_url, sqs, queue, tmp_path
):
    task = Publish.model_validate(
        {
            "queueUrl": queue,
            "from": {"data": "plain text"},
            "endpointOverride": moto_url,
        }
    )

    await task.run(make_run_context(tmp_path))

    assert drain(sqs, queue) == ["plain text"]


async def test_publish_reads_messages_from_a_storage_file(
    moto_url, sqs, queue, tmp_path
):
    ctx = make_run_context(tmp_path)
    lines = [
        json.dumps({"data": {"a": 1}, "messageId": "ignored"}),
        json.dumps("text line"),
        json.dumps([1, 2]),
    ]
    uri = ctx.storage.put_bytes("in/messages.jsonl", "\n".join(lines).encode())
    task = Publish.model_validate(
        {"queueUrl": queue, "from": uri, "endpointOverride": moto_url}
    )

    out = await task.run(ctx)

    assert out.messages_count == 3
    assert sorted(drain(sqs, queue)) == sorted(['{"a": 1}', "text line", "[1, 2]"])


async def test_publish_fails_not_retryable_when_queue_refuses_a_message(
    moto_url, sqs, tmp_path
):
    fifo = sqs.create_queue(
        QueueName="orders.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    task = Publish.model_validate(
        {
            "queueUrl": fifo,
            "from": [
                {"data": "ok", "groupId": "g"},
                {"data": "late", "groupId": "g", "delaySeconds": 5},
            ],
            "endpointOverride": moto_url,
        }
    )

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "InvalidParameterValue: Value 5 for parameter DelaySeconds" in (
        err.value.message
    )
    assert not err.value.retryable
    assert drain(sqs, fifo) == []


def test_publish_names_each_rejected_entry_and_retries_only_sqs_faults():
    # moto rejects bad batches whole; real SQS reports entries in `Failed`.
    throttled = {"Id": "3", "SenderFault": False, "Code": "InternalError"}
    bad = {
        "Id": "4",
        "SenderFault": True,
        "Code": "InvalidMessageContents",
        "Message": "bad character",
    }

    only_sqs = _rejected([throttled], sent=3)
    mixed = _rejected([throttled, bad], sent=3)

    assert only_sqs.retryable
    assert not mixed.retryable
    assert mixed.message == (
        "SQS rejected 2 messages (3 sent before): message 3: InternalError: ; "
        "message 4: InvalidMessageContents: bad character"
    )


async def test_publish_fails_not_retryable_when_queue_is_missing(moto_url, tmp_path):
    task = Publish.model_validate(
        {
            "queueUrl": f"{moto_url}/123456789012/nope",
            "from": [{"data": "x"}],
            "endpointOverride": moto_url,
        }
    )

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "sqs:SendMessageBatch" in err.value.message
    assert "NonExistentQueue" in err.value.message
    assert not err.value.retryable
