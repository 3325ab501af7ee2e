import json

import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.sqs import Trigger
from tests.plugin_context import EngineRecorder
from tests.plugins.aws.sqs.conftest import depth

pytestmark = pytest.mark.aws


def _trigger(moto_url, queue, **props):
    return Trigger.model_validate(
        {
            "queueUrl": queue,
            "serdeType": "JSON",
            "waitTime": "PT0S",
            "endpointOverride": moto_url,
            **props,
        }
    )


async def test_trigger_fires_once_per_message_and_deletes_after_fire(
    moto_url, sqs, queue, tmp_path
):
    for n in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"order": n}))
    trigger = _trigger(moto_url, queue)
    engine = EngineRecorder(tmp_path)

    result = await trigger.poll(engine.context())
    fires = engine.record(result)
    assert depth(sqs, queue) == (0, 3)  # received, not yet deleted
    for fire in fires:
        await trigger.after_fire(engine.context(), fire, execution_id="e")

    assert sorted(f.variables["data"]["order"] for f in fires) == [0, 1, 2]
    assert {f.idempotency_key for f in fires} == {
        f"aws.sqs:{queue}#{f.variables['messageId']}" for f in fires
    }
    assert depth(sqs, queue) == (0, 0)
    assert (await trigger.poll(engine.context())).fires == []


async def test_trigger_deletes_without_refiring_when_delete_was_lost(
    moto_url, sqs, queue, tmp_path
):
    sqs.send_message(QueueUrl=queue, MessageBody='{"order": 1}')
    trigger = _trigger(moto_url, queue)
    engine = EngineRecorder(tmp_path)
    [fire] = engine.record(await trigger.poll(engine.context()))
    # The process died after recording the fire, before after_fire: the message
    # becomes visible again.
    sqs.change_message_visibility(
        QueueUrl=queue,
        ReceiptHandle=fire.variables["receiptHandle"],
        VisibilityTimeout=0,
    )

    again = await trigger.poll(engine.context())

    assert again.fires == []
    assert engine.executions == 1
    assert depth(sqs, queue) == (0, 0)


async def test_trigger_poll_reads_up_to_max_records(moto_url, sqs, queue, tmp_path):
    for n in range(25):
        sqs.send_message(QueueUrl=queue, MessageBody=str(n))
    trigger = _trigger(moto_url, queue, maxRecords=15, serdeType="STRING")
    engine = EngineRecorder(tmp_path)

    fires = engine.record(await trigger.poll(engine.context()))

    assert len(fires) == 15
    assert depth(sqs, queue) == (10, 15)


async def test_trigger_poll_fails_when_queue_is_missing(moto_url, tmp_path):
    trigger = _trigger(moto_url, f"{moto_url}/123456789012/nope")

    with pytest.raises(TaskError, match="sqs:ReceiveMessage"):
        await trigger.poll(EngineRecorder(tmp_path).context())
