"""emr-serverless-on-backlog: a Spark job only for a real backlog, never two at once."""

from __future__ import annotations

import pytest

from sluice.cli.run import stop_when_settled
from tests.blueprints.conftest import shipped
from tests.engine.conftest import run_flow

pytestmark = pytest.mark.aws

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/events-backlog"


ROLE = "arn:aws:iam::123456789012:role/emr-serverless-job"


def _backlog(aws, messages: int) -> str:
    """A queue holding `messages` and an EMR Serverless application; its id.

    The application ran one job earlier (named `earlier`): moto answers ListJobRuns
    for an application that never ran a job with ResourceNotFound (AWS does not).
    """
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="events-backlog")["QueueUrl"]
    for i in range(messages):
        sqs.send_message(QueueUrl=url, MessageBody=f"event {i}")
    emr = aws.client("emr-serverless")
    app = emr.create_application(name="drain", releaseLabel="emr-7.0.0", type="SPARK")
    _start(aws, app["applicationId"], "earlier")
    return app["applicationId"]


def _start(aws, application_id: str, name: str) -> str:
    return aws.client("emr-serverless").start_job_run(
        applicationId=application_id,
        executionRoleArn=ROLE,
        name=name,
        jobDriver={"sparkSubmit": {"entryPoint": "s3://jobs/other.py"}},
    )["jobRunId"]


def _inputs(application_id: str, threshold: int) -> dict:
    return {
        "applicationId": application_id,
        "threshold": threshold,
        "queueUrl": QUEUE,
        "pollEvery": "PT0.1S",
    }


def _job_runs(aws, application_id: str) -> list[dict]:
    """The application's job runs, except the `earlier` one."""
    runs = aws.client("emr-serverless").list_job_runs(applicationId=application_id)
    return [r for r in runs["jobRuns"] if r["name"] != "earlier"]


async def test_emr_on_backlog_starts_one_spark_job_and_reports_its_run_id(
    runtime, aws, slack
):
    app = _backlog(aws, messages=5)

    state = await run_flow(
        runtime, shipped("emr-serverless-on-backlog"), _inputs(app, 3)
    )

    assert state.state == "SUCCESS", state.reason
    [job] = _job_runs(aws, app)
    assert job["name"] == f"drain-backlog-{state.id}"
    assert state.task_runs["spark"].outputs["jobRunId"] == job["id"]
    [text] = slack.texts
    assert job["id"] in text
    assert "Backlog of 5 messages (threshold 3)" in text


async def test_emr_on_backlog_does_nothing_below_the_threshold(runtime, aws, slack):
    app = _backlog(aws, messages=2)

    state = await run_flow(
        runtime, shipped("emr-serverless-on-backlog"), _inputs(app, 3)
    )

    assert state.state == "SUCCESS"
    assert _job_runs(aws, app) == []
    assert state.task_runs["skip"].state == "SUCCESS"
    assert slack.texts == []


async def test_emr_on_backlog_starts_no_second_job_while_one_is_active(
    runtime, aws, slack
):
    from moto.emrserverless.models import emrserverless_backends

    app = _backlog(aws, messages=50)
    running = _start(aws, app, "started-elsewhere")
    # moto ends every job run at once; make this one still RUNNING (moto 5.2 internals).
    backend = emrserverless_backends[aws.account][aws.region]
    next(r for r in backend.job_runs[app] if r.id == running).state = "RUNNING"

    state = await run_flow(
        runtime, shipped("emr-serverless-on-backlog"), _inputs(app, 3)
    )

    assert state.state == "SUCCESS"
    assert [r["id"] for r in _job_runs(aws, app)] == [running]
    assert state.task_runs["active_runs"].outputs["activeCount"] == 1
    assert "spark" not in state.task_runs


async def test_emr_on_backlog_cancels_an_overlapping_fire_instead_of_queueing_it(
    runtime, aws, slack
):
    app = _backlog(aws, messages=50)
    flow = runtime.flows.deploy(shipped("emr-serverless-on-backlog"))
    first, second = (
        runtime.create_execution(flow, _inputs(app, 3), actor="user:t", from_cli=False)
        for _ in range(2)
    )

    done = await runtime.drive(first, stop_when_settled)

    assert done.state == "SUCCESS"
    assert runtime.state(second).state == "CANCELLED"
    assert len(_job_runs(aws, app)) == 1
