import json
import time

import pytest

from sluice.core.errors import StorageError, TaskError
from sluice.plugins.aws.sqs import Consume, GetQueueDepth
from tests.plugin_context import make_run_context
from tests.plugins.aws.sqs.conftest import depth

pytestmark = pytest.mark.aws


def _send(sqs, queue, *bodies):
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=body)


def _consume(moto_url, queue, **props):
    return Consume.model_validate(
        {"queueUrl": queue, "endpointOverride": moto_url, **props}
    )


async def test_consume_stores_messages_then_deletes_them(
    moto_url, sqs, queue, tmp_path
):
    _send(sqs, queue, *(json.dumps({"n": n}) for n in range(13)), "not json")
    ctx = make_run_context(tmp_path)

    out = await _consume(moto_url, queue, maxRecords=100, serdeType="JSON").run(ctx)

    records = [json.loads(x) for x in ctx.storage.get_bytes(out.uri).splitlines()]
    assert out.count == len(records) == 14
    data = [r["data"] for r in records]
    assert sorted(d["n"] for d in data if isinstance(d, dict)) == list(range(13))
    assert "not json" in data  # kept as text, not dropped
    assert all(r["messageId"] for r in records)
    assert depth(sqs, queue) == (0, 0)
    assert out.warning is None


async def test_consume_stops_at_max_records(moto_url, sqs, queue, tmp_path):
    _send(sqs, queue, *(f"m{n}" for n in range(15)))

    out = await _consume(moto_url, queue, maxRecords=12).run(make_run_context(tmp_path))

    assert out.count == 12
    assert depth(sqs, queue) == (3, 0)


async def test_consume_keeps_reading_until_max_duration(moto_url, sqs, queue, tmp_path):
    started = time.monotonic()

    out = await _consume(moto_url, queue, maxDuration="PT1S", waitTime="PT1S").run(
        make_run_context(tmp_path)
    )

    assert out.count == 0
    assert 0.9 <= time.monotonic() - started < 3


class _FailingStorage:
    """Storage that cannot write (a full disk)."""

    def __init__(self, inner):
        self.inner = inner

    def put_bytes(self, path, data):
        raise StorageError("disk full")


async def test_consume_leaves_messages_in_queue_when_file_cannot_be_stored(
    moto_url, sqs, queue, tmp_path
):
    _send(sqs, queue, "a", "b", "c")
    ctx = make_run_context(tmp_path)
    ctx.storage = _FailingStorage(ctx.storage)

    with pytest.raises(StorageError):
        await _consume(moto_url, queue, maxRecords=3).run(ctx)

    assert depth(sqs, queue) == (0, 3)  # in flight, back after the timeout: not lost


class _PurgingStorage:
    """Storage during whose write an operator purges the queue."""

    def __init__(self, inner, purge):
        self.inner, self.purge = inner, purge

    def put_bytes(self, path, data):
        self.purge()
        return self.inner.put_bytes(path, data)


async def test_consume_warns_when_messages_cannot_be_deleted(
    moto_url, sqs, queue, tmp_path
):
    _send(sqs, queue, "a", "b")
    ctx = make_run_context(tmp_path)
    ctx.storage = _PurgingStorage(ctx.storage, lambda: sqs.purge_queue(QueueUrl=queue))

    out = await _consume(moto_url, queue, maxRecords=2).run(ctx)

    assert out.count == 2
    assert out.warning.startswith("2 of 2 messages were not deleted")
    assert "ReceiptHandleIsInvalid" in out.warning
    assert ctx.logger.warnings == [out.warning]


def test_consume_requires_a_bound():
    with pytest.raises(ValueError, match="maxRecords, maxDuration or both"):
        Consume.model_validate({"queueUrl": "https://q"})


async def test_get_queue_depth_reports_visible_in_flight_and_delayed(
    moto_url, sqs, queue, tmp_path
):
    _send(sqs, queue, "a", "b", "c")
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=2, VisibilityTimeout=60)
    task = GetQueueDepth.model_validate(
        {"queueUrl": queue, "endpointOverride": moto_url}
    )

    out = await task.run(make_run_context(tmp_path))

    assert (out.visible, out.in_flight, out.delayed, out.total) == (1, 2, 1, 4)


async def test_get_queue_depth_fails_when_queue_is_missing(moto_url, tmp_path):
    task = GetQueueDepth.model_validate(
        {"queueUrl": f"{moto_url}/123456789012/nope", "endpointOverride": moto_url}
    )

    with pytest.raises(TaskError, match="sqs:GetQueueAttributes"):
        await task.run(make_run_context(tmp_path))
