from datetime import timedelta

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.core.plugin import Waiting
from sluice.plugins.aws.glue import GetJobRun, StartJobRun, StopJobRun
from tests.fixtures_aws import ACCOUNT, REGION, set_transition
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws


def _glue(moto_url: str):
    return boto3.client("glue", endpoint_url=moto_url, region_name=REGION)


def _job(moto_url: str, name: str) -> None:
    _glue(moto_url).create_job(
        Name=name,
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/etl.py"},
        ExecutionProperty={"MaxConcurrentRuns": 5},
    )


def _moto_run(job: str, run_id: str):
    from moto.glue.models import glue_backends

    runs = glue_backends[ACCOUNT][REGION].jobs[job].job_runs
    return next(r for r in runs if r.job_run_id == run_id)


def _force_end(monkeypatch, job: str, run_id: str, state: str, message: str) -> None:
    """Make moto report a final state it never reaches, with Glue's ErrorMessage."""
    run = _moto_run(job, run_id)
    run.status = state
    described = run.as_dict
    monkeypatch.setattr(
        run, "as_dict", lambda: {**described(), "ErrorMessage": message}
    )


async def _resume(task, ctx, waiting):
    ctx.checkpoint = waiting.checkpoint
    return await task.run(ctx)


async def test_start_job_run_waits_durably_and_starts_one_run(moto_url, tmp_path):
    _job(moto_url, "etl")
    set_transition(moto_url, "glue::job_run", {"progression": "manual", "times": 1})
    task = StartJobRun.model_validate(
        {
            "jobName": "etl",
            "arguments": {"--day": "2025-01-01"},
            "interval": "PT30S",
            "endpointOverride": moto_url,
        }
    )
    ctx = make_run_context(tmp_path)

    first = await task.run(ctx)
    assert isinstance(first, Waiting)
    assert first.poll_after == timedelta(seconds=1)  # the first look comes soon
    second = await _resume(task, ctx, first)  # RUNNING
    assert isinstance(second, Waiting)
    assert second.checkpoint == first.checkpoint
    assert second.poll_after == timedelta(seconds=30)  # later looks every `interval`
    done = await _resume(task, ctx, second)

    assert done.state == "SUCCEEDED"
    assert done.job_run_id == first.checkpoint["jobRunId"]
    runs = _glue(moto_url).get_job_runs(JobName="etl")["JobRuns"]
    assert len(runs) == 1
    assert runs[0]["Arguments"]["--day"] == "2025-01-01"


async def test_start_job_run_fails_with_glue_error_message_when_run_fails(
    moto_url, tmp_path, monkeypatch
):
    _job(moto_url, "etl")
    set_transition(moto_url, "glue::job_run", {"progression": "manual", "times": 5})
    task = StartJobRun.model_validate({"jobName": "etl", "endpointOverride": moto_url})
    ctx = make_run_context(tmp_path)
    waiting = await task.run(ctx)
    _force_end(
        monkeypatch,
        "etl",
        waiting.checkpoint["jobRunId"],
        "FAILED",
        "OOM on executor 3",
    )

    with pytest.raises(TaskError) as err:
        await _resume(task, ctx, waiting)

    assert err.value.message.endswith("ended FAILED: OOM on executor 3")
    assert err.value.error_type == "FAILED"


async def test_start_job_run_gives_up_after_max_duration(moto_url, tmp_path):
    _job(moto_url, "etl")
    set_transition(moto_url, "glue::job_run", {"progression": "manual", "times": 50})
    task = StartJobRun.model_validate(
        {"jobName": "etl", "maxDuration": "PT90S", "endpointOverride": moto_url}
    )
    ctx = make_run_context(tmp_path)
    waiting = await task.run(ctx)
    assert isinstance(await _resume(task, ctx, waiting), Waiting)

    ctx.clock.advance(timedelta(seconds=91))
    with pytest.raises(TaskError) as err:
        await _resume(task, ctx, waiting)

    assert err.value.error_type == "WaitTimeout"
    run = _glue(moto_url).get_job_run(
        JobName="etl", RunId=waiting.checkpoint["jobRunId"]
    )
    assert run["JobRun"]["Timeout"] == 2  # 90 s sent to Glue as whole minutes, up


async def test_start_job_run_without_wait_reports_state_at_once(moto_url, tmp_path):
    _job(moto_url, "etl")
    task = StartJobRun.model_validate(
        {"jobName": "etl", "wait": False, "endpointOverride": moto_url}
    )

    out = await task.run(make_run_context(tmp_path))

    assert out.state == "SUCCEEDED"  # moto's default: immediately done
    assert out.job_name == "etl"


async def test_start_job_run_fails_not_retryable_when_job_is_missing(
    moto_url, tmp_path
):
    task = StartJobRun.model_validate({"jobName": "nope", "endpointOverride": moto_url})

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "nope failed: EntityNotFoundException" in err.value.message
    assert not err.value.retryable


async def test_start_job_run_refuses_a_checkpoint_it_did_not_write(moto_url, tmp_path):
    task = StartJobRun.model_validate({"jobName": "etl", "endpointOverride": moto_url})

    with pytest.raises(TaskError, match="not a job checkpoint"):
        await task.run(make_run_context(tmp_path, checkpoint={"x": 1}))


async def test_get_job_run_returns_latest_run_with_its_failure(
    moto_url, tmp_path, monkeypatch
):
    _job(moto_url, "etl")
    glue = _glue(moto_url)
    glue.start_job_run(JobName="etl")
    latest = glue.start_job_run(JobName="etl")["JobRunId"]
    _force_end(monkeypatch, "etl", latest, "TIMEOUT", "ran past 2 minutes")
    task = GetJobRun.model_validate({"jobName": "etl", "endpointOverride": moto_url})

    out = await task.run(make_run_context(tmp_path))

    assert out.job_run_id == latest
    assert out.state == "TIMEOUT"
    assert out.error_message == "ran past 2 minutes"


async def test_get_job_run_by_id_and_fails_when_job_has_no_runs(moto_url, tmp_path):
    _job(moto_url, "etl")
    ctx = make_run_context(tmp_path)
    with pytest.raises(TaskError, match="has no runs"):
        await GetJobRun.model_validate(
            {"jobName": "etl", "endpointOverride": moto_url}
        ).run(ctx)
    run_id = _glue(moto_url).start_job_run(JobName="etl")["JobRunId"]

    out = await GetJobRun.model_validate(
        {"jobName": "etl", "runId": run_id, "endpointOverride": moto_url}
    ).run(ctx)

    assert (out.job_run_id, out.state) == (run_id, "SUCCEEDED")


@pytest.fixture
def glue_can_stop(monkeypatch):
    """moto 5.2 lacks BatchStopJobRun: give its server one, setting runs STOPPED."""
    from moto.core.responses import ActionResult
    from moto.glue.responses import GlueResponse

    def batch_stop_job_run(self):
        job = self._get_param("JobName")
        done, errors = [], []
        for run_id in self._get_param("JobRunIds"):
            try:
                _moto_run(job, run_id).status = "STOPPED"
                done.append({"JobName": job, "JobRunId": run_id})
            except (KeyError, StopIteration):
                errors.append(
                    {
                        "JobName": job,
                        "JobRunId": run_id,
                        "ErrorDetail": {
                            "ErrorCode": "EntityNotFoundException",
                            "ErrorMessage": f"run {run_id} not found",
                        },
                    }
                )
        return ActionResult({"SuccessfulSubmissions": done, "Errors": errors})

    monkeypatch.setattr(
        GlueResponse, "batch_stop_job_run", batch_stop_job_run, raising=False
    )


async def test_stop_job_run_waits_until_run_stopped(moto_url, tmp_path, glue_can_stop):
    _job(moto_url, "etl")
    set_transition(moto_url, "glue::job_run", {"progression": "manual", "times": 50})
    run_id = _glue(moto_url).start_job_run(JobName="etl")["JobRunId"]
    task = StopJobRun.model_validate(
        {"jobName": "etl", "jobRunId": run_id, "endpointOverride": moto_url}
    )
    ctx = make_run_context(tmp_path)

    waiting = await task.run(ctx)
    assert isinstance(waiting, Waiting)
    out = await _resume(task, ctx, waiting)

    assert (out.job_run_id, out.state) == (run_id, "STOPPED")


async def test_stop_job_run_fails_with_glue_error_for_unknown_run(
    moto_url, tmp_path, glue_can_stop
):
    _job(moto_url, "etl")
    task = StopJobRun.model_validate(
        {"jobName": "etl", "jobRunId": "jr_missing", "endpointOverride": moto_url}
    )

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "EntityNotFoundException: run jr_missing not found" in err.value.message


async def test_start_job_run_retried_start_reuses_the_run_already_started(
    moto_url, tmp_path
):
    _job(moto_url, "etl")
    set_transition(moto_url, "glue::job_run", {"progression": "manual", "times": 50})
    task = StartJobRun.model_validate({"jobName": "etl", "endpointOverride": moto_url})
    # The first attempt started the run but died before its checkpoint was recorded.
    lost = await task.run(make_run_context(tmp_path, attempt=1))

    again = await task.run(make_run_context(tmp_path, attempt=2))

    assert again.checkpoint["jobRunId"] == lost.checkpoint["jobRunId"]
    assert len(_glue(moto_url).get_job_runs(JobName="etl")["JobRuns"]) == 1
    other = await task.run(make_run_context(tmp_path, task_run_id="another-run"))
    assert other.checkpoint["jobRunId"] != lost.checkpoint["jobRunId"]
