from datetime import timedelta

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.core.plugin import Waiting
from sluice.plugins.aws.emr import (
    CreateServerlessApplicationAndStartJob,
    DeleteServerlessApplication,
    GetServerlessJobRun,
    ListServerlessJobRuns,
    StartServerlessJobRun,
)
from tests.fixtures_aws import ACCOUNT, REGION
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws

ROLE = f"arn:aws:iam::{ACCOUNT}:role/emr-serverless-job"


def _client(moto_url):
    return boto3.client("emr-serverless", endpoint_url=moto_url, region_name=REGION)


def _application(moto_url, name="spark") -> str:
    created = _client(moto_url).create_application(
        name=name, releaseLabel="emr-7.1.0", type="SPARK"
    )
    return created["applicationId"]


def _backend():
    from moto.emrserverless.models import emrserverless_backends

    return emrserverless_backends[ACCOUNT][REGION]


def _force(app_id, run_id, state, details=None):
    """Put a job run in a state moto never reaches (its runs are SUCCESS at once)."""
    run = next(r for r in _backend().job_runs[app_id] if r.id == run_id)
    run.state, run.state_details = state, details


def _start(moto_url, app_id, **props):
    return StartServerlessJobRun.model_validate(
        {
            "applicationId": app_id,
            "executionRoleArn": ROLE,
            "jobName": "aggregate",
            "entryPoint": "s3://jobs/agg.py",
            "entryPointArguments": ["--day", "2025-01-01"],
            "wait": True,
            "endpointOverride": moto_url,
            **props,
        }
    )


async def _resume(task, ctx, waiting):
    ctx.checkpoint = waiting.checkpoint
    return await task.run(ctx)


async def test_start_job_run_waits_durably_and_runs_once(moto_url, tmp_path):
    app_id = _application(moto_url)
    task = _start(moto_url, app_id, interval="PT30S")
    ctx = make_run_context(tmp_path)

    first = await task.run(ctx)
    assert isinstance(first, Waiting)
    run_id = first.checkpoint["jobRunId"]
    _force(app_id, run_id, "RUNNING")
    again = await _resume(task, ctx, first)
    assert isinstance(again, Waiting)
    assert again.checkpoint == first.checkpoint
    _force(app_id, run_id, "SUCCESS")
    out = await _resume(task, ctx, again)

    assert (out.job_run_id, out.state) == (run_id, "SUCCESS")
    runs = _client(moto_url).list_job_runs(applicationId=app_id)["jobRuns"]
    assert [r["id"] for r in runs] == [run_id]
    described = _client(moto_url).get_job_run(applicationId=app_id, jobRunId=run_id)
    spark = described["jobRun"]["jobDriver"]["sparkSubmit"]
    assert spark["entryPointArguments"] == ["--day", "2025-01-01"]


async def test_start_job_run_fails_with_state_details_when_run_fails(
    moto_url, tmp_path
):
    app_id = _application(moto_url)
    task = _start(moto_url, app_id)
    ctx = make_run_context(tmp_path)
    waiting = await task.run(ctx)
    _force(app_id, waiting.checkpoint["jobRunId"], "FAILED", "Job failed: exit 1")

    with pytest.raises(TaskError) as err:
        await _resume(task, ctx, waiting)

    assert err.value.message == (
        "EMR Serverless job aggregate ended FAILED: Job failed: exit 1"
    )


async def test_start_job_run_cancels_run_after_max_duration(moto_url, tmp_path):
    app_id = _application(moto_url)
    task = _start(moto_url, app_id, maxDuration="PT1H")
    ctx = make_run_context(tmp_path)
    waiting = await task.run(ctx)
    run_id = waiting.checkpoint["jobRunId"]
    _force(app_id, run_id, "RUNNING")
    ctx.clock.advance(timedelta(hours=1))

    with pytest.raises(TaskError, match="cancelled"):
        await _resume(task, ctx, waiting)

    run = _client(moto_url).get_job_run(applicationId=app_id, jobRunId=run_id)
    assert run["jobRun"]["state"] == "CANCELLED"


async def test_start_job_run_fails_not_retryable_for_unknown_application(
    moto_url, tmp_path
):
    task = _start(moto_url, "00nope")

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "emr-serverless:StartJobRun 00nope failed" in err.value.message
    assert not err.value.retryable


async def test_create_application_and_start_hive_job(moto_url, tmp_path):
    task = CreateServerlessApplicationAndStartJob.model_validate(
        {
            "releaseLabel": "emr-7.1.0",
            "applicationType": "HIVE",
            "executionRoleArn": ROLE,
            "jobName": "count",
            "entryPoint": "SELECT count(*) FROM orders",
            "endpointOverride": moto_url,
        }
    )

    out = await task.run(make_run_context(tmp_path))

    assert out.state == "SUCCESS"  # no wait: the state right after the start
    app = _client(moto_url).get_application(applicationId=out.application_id)
    assert app["application"]["type"].upper() == "HIVE"
    run = _client(moto_url).get_job_run(
        applicationId=out.application_id, jobRunId=out.job_run_id
    )
    assert run["jobRun"]["jobDriver"] == {
        "hive": {"query": "SELECT count(*) FROM orders"}
    }


async def test_create_application_fails_on_unknown_release(moto_url, tmp_path):
    task = CreateServerlessApplicationAndStartJob.model_validate(
        {
            "releaseLabel": "emr-nope",
            "applicationType": "SPARK",
            "executionRoleArn": ROLE,
            "jobName": "count",
            "entryPoint": "s3://jobs/a.py",
            "endpointOverride": moto_url,
        }
    )

    with pytest.raises(TaskError, match="CreateApplication emr-nope failed"):
        await task.run(make_run_context(tmp_path))


async def test_get_job_run_reports_failed_run_without_failing(moto_url, tmp_path):
    app_id = _application(moto_url)
    first = await _start(moto_url, app_id, wait=False).run(make_run_context(tmp_path))
    _force(app_id, first.job_run_id, "FAILED", "out of memory")
    task = GetServerlessJobRun.model_validate(
        {
            "applicationId": app_id,
            "jobRunId": first.job_run_id,
            "endpointOverride": moto_url,
        }
    )

    out = await task.run(make_run_context(tmp_path))

    assert (out.state, out.state_details) == ("FAILED", "out of memory")


async def test_get_job_run_fails_for_unknown_run(moto_url, tmp_path):
    task = GetServerlessJobRun.model_validate(
        {
            "applicationId": _application(moto_url),
            "jobRunId": "nope",
            "endpointOverride": moto_url,
        }
    )

    with pytest.raises(TaskError, match="ResourceNotFoundException"):
        await task.run(make_run_context(tmp_path))


async def test_list_job_runs_counts_active_runs(moto_url, tmp_path):
    app_id = _application(moto_url)
    ids = []
    for n in range(3):
        ctx = make_run_context(tmp_path, task_run_id=f"run{n}")
        ids.append((await _start(moto_url, app_id, wait=False).run(ctx)).job_run_id)
    _force(app_id, ids[0], "RUNNING")
    _force(app_id, ids[1], "PENDING")
    props = {"applicationId": app_id, "endpointOverride": moto_url}

    every = await ListServerlessJobRuns.model_validate(props).run(
        make_run_context(tmp_path)
    )
    running = await ListServerlessJobRuns.model_validate(
        {**props, "states": ["RUNNING"]}
    ).run(make_run_context(tmp_path))

    assert (every.count, every.active_count) == (3, 2)
    assert [r.job_run_id for r in running.job_runs] == [ids[0]]
    assert running.active_count == 1


async def test_delete_application_stops_started_application_first(moto_url, tmp_path):
    app_id = _application(moto_url)  # moto: STARTED right after create
    task = DeleteServerlessApplication.model_validate(
        {"applicationIds": [app_id], "endpointOverride": moto_url}
    )

    ctx = make_run_context(tmp_path)

    waiting = await task.run(ctx)  # asked to stop; deleted once it has stopped
    assert (
        _client(moto_url).get_application(applicationId=app_id)["application"]["state"]
        == "STOPPED"
    )
    out = await _resume(task, ctx, waiting)

    assert out.application_ids == [app_id]
    app = _client(moto_url).get_application(applicationId=app_id)["application"]
    assert app["state"] == "TERMINATED"


async def test_delete_application_waits_while_application_stops(moto_url, tmp_path):
    app_id = _application(moto_url)
    _backend().applications[app_id].state = "STOPPING"
    task = DeleteServerlessApplication.model_validate(
        {"applicationIds": [app_id], "endpointOverride": moto_url}
    )
    ctx = make_run_context(tmp_path)

    waiting = await task.run(ctx)
    assert isinstance(waiting, Waiting)
    _backend().applications[app_id].state = "STOPPED"
    out = await _resume(task, ctx, waiting)

    assert out.application_ids == [app_id]
    app = _client(moto_url).get_application(applicationId=app_id)["application"]
    assert app["state"] == "TERMINATED"
