"""s3-fanout-by-prefix: one execution per landed file, routed by its folder."""

from __future__ import annotations

import json

import pytest

from sluice.blueprints.demo_resources import demo_files, write_dbt_project
from sluice.cli.demo import fire_and_serve, with_variables
from sluice.core.triggers import trigger_stream
from tests.blueprints.conftest import shipped
from tests.engine.conftest import events_of

pytestmark = pytest.mark.aws

TOPIC = "arn:aws:sns:us-east-1:123456789012:landing-processed"


def _inbox(aws) -> str:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="processed-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    aws.client("sns").subscribe(
        TopicArn=TOPIC, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"]
    )
    return url


def _trigger_events(runtime):
    return runtime.log.read_stream(
        trigger_stream("company.aws", "s3-fanout-by-prefix", "landed")
    )


def _sns_messages(aws, url: str) -> list[dict]:
    got = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [
        json.loads(json.loads(m["Body"])["Message"]) for m in got.get("Messages", [])
    ]


async def _fire(runtime, aws, tmp_path, files: dict[str, str], source=None):
    """Drop `files`, fire the blueprint's trigger once, serve to the end."""
    aws.drop_files(files)
    project = write_dbt_project(tmp_path / "dbt")
    source = with_variables(
        source or shipped("s3-fanout-by-prefix"), {"dbtProjectDir": str(project)}
    )
    flow = runtime.flows.deploy(source)
    started = await fire_and_serve(runtime, flow)
    return {runtime.state(e).trigger["key"]: runtime.state(e) for e in started}


async def test_s3_fanout_routes_clicks_to_lambda_publishes_notifies_and_moves_each_file(
    runtime, aws, slack, tmp_path
):
    files = demo_files(orders=False)
    clicks = sorted(files)
    aws.create_landing([{"cleansed": 3, "key": k} for k in clicks])
    inbox = _inbox(aws)

    states = await _fire(runtime, aws, tmp_path, files)

    assert sorted(states) == clicks
    assert {s.state for s in states.values()} == {"SUCCESS"}
    assert aws.keys("raw/") == []
    assert aws.keys("processed/") == [k.replace("raw/", "processed/") for k in clicks]
    answers = [states[k].task_runs["cleanse_clicks"].outputs["payload"] for k in clicks]
    assert sorted(a["key"] for a in answers) == clicks  # each got one canned answer
    uris = {f"s3://my-landing-bucket/{k}" for k in clicks}
    messages = _sns_messages(aws, inbox)
    assert {m["uri"] for m in messages} == uris
    assert {m["route"] for m in messages} == {"clicks"}
    assert {
        t.split(" processed")[0].removeprefix("clicks file ") for t in slack.texts
    } == uris
    for state in states.values():  # one history: route, Lambda, SNS, Slack
        ran = {r.task_id: r.state for r in state.task_runs.values()}
        assert ran == dict.fromkeys(
            ["route", "cleanse_clicks", "publish", "notify"], "SUCCESS"
        )
        logged = [e.event for e in events_of(runtime, state.id)]
        assert [
            e.task_run_id for e in logged if type(e).__name__ == "TaskRunSucceeded"
        ] == ["cleanse_clicks", "publish", "notify"]
    actions = [
        e.event for e in _trigger_events(runtime) if e.type == "TriggerActionCompleted"
    ]
    assert sorted(a.execution_id for a in actions) == sorted(
        s.id for s in states.values()
    )


@pytest.mark.slow
async def test_s3_fanout_routes_orders_to_a_dbt_build_of_the_file(
    runtime, aws, slack, tmp_path
):
    files = {k: v for k, v in demo_files(orders=True).items() if "/orders/" in k}
    aws.create_landing([])

    states = await _fire(runtime, aws, tmp_path, files)

    [(key, state)] = states.items()
    assert state.state == "SUCCESS", state.reason
    dbt = state.task_runs["dbt_orders"].outputs
    assert dbt["success"] is True
    assert {r["status"] for r in dbt["results"]} == {"success", "pass"}
    assert aws.keys("processed/") == [key.replace("raw/", "processed/")]
    assert f"s3://my-landing-bucket/{key}" in slack.texts[0]


async def test_s3_fanout_leaves_a_file_in_raw_when_its_execution_fails(
    runtime, aws, slack, tmp_path
):
    aws.create_landing([])
    [state] = (
        await _fire(runtime, aws, tmp_path, {"raw/refunds/r-1.csv": "1\n"})
    ).values()

    assert state.state == "FAILED"
    assert "add a case named 'refunds'" in state.task_runs["unknown_prefix"].message
    assert aws.keys("raw/") == ["raw/refunds/r-1.csv"]
    assert aws.keys("processed/") == []
    assert slack.texts == []


REFUNDS_CASE = """\
    cases:
      refunds:
        - id: book_refunds
          type: core.Log
          message: "refunds file {{ trigger.key }}"
"""


async def test_s3_fanout_routes_a_third_prefix_after_a_yaml_edit(
    runtime, aws, slack, tmp_path
):
    aws.create_landing([])
    edited = shipped("s3-fanout-by-prefix").replace("    cases:\n", REFUNDS_CASE, 1)
    files = {"raw/refunds/r-1.csv": "1\n"}

    [state] = (await _fire(runtime, aws, tmp_path, files, edited)).values()

    assert state.state == "SUCCESS", state.reason
    assert state.task_runs["book_refunds"].state == "SUCCESS"
    assert aws.keys("processed/") == ["processed/refunds/r-1.csv"]
    assert slack.texts[0].startswith("refunds file s3://my-landing-bucket/raw/refunds/")
