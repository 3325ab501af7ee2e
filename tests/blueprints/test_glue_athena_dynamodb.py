"""glue-athena-dynamodb: Glue, then Athena's count gates the DynamoDB write."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sluice.cli.run import stop_when_settled
from sluice.core.expressions import Renderer
from sluice.core.triggers import TriggerRunner
from tests.blueprints.conftest import shipped
from tests.engine.conftest import events_of, run_flow
from tests.plugin_context import ManualClock

pytestmark = pytest.mark.aws


def _oncall_queue(aws) -> str:
    """An SQS queue subscribed to the on-call topic, to see what SNS delivered."""
    sqs, sns = aws.client("sqs"), aws.client("sns")
    url = sqs.create_queue(QueueName="oncall-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    topic = f"arn:aws:sns:us-east-1:{aws.account}:oncall-pages"
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"]
    )
    return url


def _delivered(aws, url: str) -> list[str]:
    got = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"])["Message"] for m in got.get("Messages", [])]


def _items(aws) -> list[dict]:
    return aws.client("dynamodb").scan(TableName="daily-metrics")["Items"]


async def _run_counting(runtime, aws, rows: int, total: float):
    """Run the shipped blueprint (minRows 1000) with Athena counting `rows`."""
    aws.create_pipeline(row_count=rows, total_amount=total)
    inbox = _oncall_queue(aws)
    inputs = {"pollEvery": "PT0.1S", "minRows": 1000}
    state = await run_flow(runtime, shipped("glue-athena-dynamodb"), inputs)
    return state, inbox


async def test_glue_athena_dynamodb_writes_the_aggregate_when_the_count_is_in_range(
    runtime, aws, slack
):
    state, inbox = await _run_counting(runtime, aws, 1234, 5678.5)
    assert state.state == "SUCCESS", state.reason
    day = state.task_runs["day"].outputs["value"]
    runs = aws.client("glue").get_job_runs(JobName="daily-sales-etl")["JobRuns"]
    [run] = runs
    assert run["Arguments"]["--day"] == day
    [item] = _items(aws)
    assert item == {
        "metric": {"S": "daily-sales"},
        "day": {"S": day},
        "rowCount": {"N": "1234"},
        "totalAmount": {"N": "5678.5"},
        "glueJobRunId": {"S": run["Id"]},
        "executionId": {"S": state.id},
    }
    [text] = slack.texts
    assert "1234 rows in s3://my-analytics-curated/daily_sales/" in text
    assert _delivered(aws, inbox) == []
    succeeded = [
        e.event.task_run_id
        for e in events_of(runtime, state.id)
        if e.type == "TaskRunSucceeded"
    ]
    assert {"etl", "count_rows", "write_aggregate", "notify"} <= set(succeeded)


async def test_glue_athena_dynamodb_pages_and_fails_when_the_count_is_out_of_range(
    runtime, aws, slack
):
    state, inbox = await _run_counting(runtime, aws, 12, 3.0)
    assert state.state == "FAILED"
    assert _items(aws) == []
    assert "write_aggregate" not in state.task_runs
    assert "12 rows" in state.task_runs["reject"].message
    assert "outside [1000, 10000000]" in state.task_runs["reject"].message
    [page] = slack.texts
    assert "FAILED: 12 rows counted (expected 1000 to 10000000)" in page
    assert f"sluice executions show {state.id}" in page
    [message] = _delivered(aws, inbox)
    assert state.id in message
    assert "12 rows counted, expected 1000 to 10000000" in message


async def test_glue_athena_dynamodb_nightly_fire_processes_the_scheduled_day(
    runtime, aws, slack
):
    aws.create_pipeline(row_count=1234, total_amount=5678.5)
    # A scheduled run takes the inputs' defaults: poll faster than every 15 s here.
    source = shipped("glue-athena-dynamodb").replace(
        "defaults: PT15S", "defaults: PT0.1S"
    )
    flow = runtime.flows.deploy(source)
    clock = ManualClock(datetime(2026, 1, 30, 22, 0, tzinfo=UTC))
    triggers = TriggerRunner(
        runtime.log, runtime.storage, clock, Renderer(now=clock.now)
    )
    await triggers.tick([flow])  # a new schedule starts from now
    clock.advance(timedelta(hours=6))  # past 03:00 on the 31st

    assert await triggers.tick([flow]) == 1

    [fired] = [
        e.event for e in runtime.log.read_all(0, 1000) if e.type == "TriggerFired"
    ]
    state = await runtime.drive(fired.execution_id, stop_when_settled)
    assert state.state == "SUCCESS", state.reason
    assert state.task_runs["day"].outputs["value"] == "2026-01-31"
    [item] = _items(aws)
    assert item["day"] == {"S": "2026-01-31"}
