import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.core.plugin import Waiting
from sluice.plugins.aws.emr import (
    CreateClusterAndSubmitSteps,
    DeleteCluster,
    StepConfig,
    SubmitSteps,
)
from tests.fixtures_aws import ACCOUNT, REGION
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws

STEPS = [
    {
        "name": "aggregate",
        "jar": "command-runner.jar",
        "commands": ["spark-submit s3://jobs/agg.py --title 'Daily report'"],
        "actionOnFailure": "CONTINUE",
    },
    {
        "name": "publish",
        "jar": "command-runner.jar",
        "args": ["echo", "done"],
        "actionOnFailure": "CONTINUE",
    },
]


def _emr(moto_url):
    return boto3.client("emr", endpoint_url=moto_url, region_name=REGION)


def _cluster(cluster_id):
    from moto.emr.models import emr_backends

    return emr_backends[ACCOUNT][REGION].clusters[cluster_id]


def _task(moto_url, **props):
    return CreateClusterAndSubmitSteps.model_validate(
        {
            "clusterName": "nightly",
            "releaseLabel": "emr-7.1.0",
            "masterInstanceType": "m5.xlarge",
            "slaveInstanceType": "m5.xlarge",
            "instanceCount": 3,
            "keepJobFlowAliveWhenNoSteps": True,
            "steps": STEPS,
            "wait": True,
            "endpointOverride": moto_url,
            **props,
        }
    )


async def _resume(task, ctx, waiting):
    ctx.checkpoint = waiting.checkpoint
    return await task.run(ctx)


def test_step_config_splits_commands_like_a_shell():
    step = StepConfig.model_validate(STEPS[0])

    assert step.to_api()["HadoopJarStep"]["Args"] == [
        "spark-submit",
        "s3://jobs/agg.py",
        "--title",
        "Daily report",
    ]


async def test_create_cluster_waits_durably_until_steps_complete(moto_url, tmp_path):
    task = _task(moto_url, completionCheckInterval="PT1M")
    ctx = make_run_context(tmp_path)

    first = await task.run(ctx)
    assert isinstance(first, Waiting)
    cluster_id = first.checkpoint["jobFlowId"]
    step_ids = first.checkpoint["stepIds"]
    # moto: the cluster is WAITING with its first step RUNNING, forever.
    again = await _resume(task, ctx, first)
    assert isinstance(again, Waiting)
    assert again.checkpoint == first.checkpoint
    for step in _cluster(cluster_id).steps:
        step.state = "COMPLETED"
    out = await _resume(task, ctx, again)

    assert out.job_flow_id == cluster_id
    assert out.state == "WAITING"
    assert out.step_states == {step_ids[0]: "COMPLETED", step_ids[1]: "COMPLETED"}
    assert len(_emr(moto_url).list_clusters()["Clusters"]) == 1
    first_step = _emr(moto_url).describe_step(ClusterId=cluster_id, StepId=step_ids[0])
    assert first_step["Step"]["Name"] == "aggregate"


async def test_create_cluster_fails_when_terminated_with_errors(moto_url, tmp_path):
    task = _task(moto_url)
    ctx = make_run_context(tmp_path)
    waiting = await task.run(ctx)
    cluster = _cluster(waiting.checkpoint["jobFlowId"])
    cluster.state = "TERMINATED_WITH_ERRORS"
    cluster.last_state_change_reason = "Bootstrap failure on the master node"

    with pytest.raises(TaskError) as err:
        await _resume(task, ctx, waiting)

    assert err.value.message == (
        "EMR cluster nightly ended TERMINATED_WITH_ERRORS: "
        "Bootstrap failure on the master node"
    )


async def test_create_cluster_fails_when_a_step_fails(moto_url, tmp_path):
    task = _task(moto_url)
    ctx = make_run_context(tmp_path)
    waiting = await task.run(ctx)
    failed = _cluster(waiting.checkpoint["jobFlowId"]).steps[0]
    failed.state = "FAILED"
    failed.last_state_change_reason = "exit code 1"

    with pytest.raises(TaskError, match="step aggregate FAILED: exit code 1"):
        await _resume(task, ctx, waiting)


async def test_create_cluster_without_wait_returns_ids(moto_url, tmp_path):
    out = await _task(moto_url, wait=False).run(make_run_context(tmp_path))

    assert out.state is None
    assert len(out.step_ids) == 2
    described = _emr(moto_url).describe_cluster(ClusterId=out.job_flow_id)
    assert described["Cluster"]["Name"] == "nightly"


async def test_submit_steps_adds_steps_to_cluster(moto_url, tmp_path):
    cluster = await _task(moto_url, steps=[], wait=False).run(
        make_run_context(tmp_path)
    )
    task = SubmitSteps.model_validate(
        {"clusterId": cluster.job_flow_id, "steps": STEPS, "endpointOverride": moto_url}
    )

    out = await task.run(make_run_context(tmp_path))

    listed = _emr(moto_url).list_steps(ClusterId=cluster.job_flow_id)["Steps"]
    assert sorted(out.step_ids) == sorted(s["Id"] for s in listed)


async def test_submit_steps_fails_naming_the_call_when_cluster_is_unknown(
    moto_url, tmp_path
):
    task = SubmitSteps.model_validate(
        {"clusterId": "j-NOPE", "steps": STEPS, "endpointOverride": moto_url}
    )

    with pytest.raises(TaskError, match="emr:AddJobFlowSteps j-NOPE failed"):
        await task.run(make_run_context(tmp_path))


async def test_delete_cluster_terminates_clusters(moto_url, tmp_path):
    cluster = await _task(moto_url, wait=False).run(make_run_context(tmp_path))
    task = DeleteCluster.model_validate(
        {"clusterIds": [cluster.job_flow_id], "endpointOverride": moto_url}
    )

    await task.run(make_run_context(tmp_path))

    described = _emr(moto_url).describe_cluster(ClusterId=cluster.job_flow_id)
    assert described["Cluster"]["Status"]["State"] == "TERMINATED"


async def test_delete_cluster_fails_when_termination_protected(moto_url, tmp_path):
    cluster = await _task(moto_url, wait=False).run(make_run_context(tmp_path))
    _emr(moto_url).set_termination_protection(
        JobFlowIds=[cluster.job_flow_id], TerminationProtected=True
    )
    task = DeleteCluster.model_validate(
        {"clusterIds": [cluster.job_flow_id], "endpointOverride": moto_url}
    )

    with pytest.raises(TaskError, match="termination protected"):
        await task.run(make_run_context(tmp_path))


async def test_create_cluster_retried_start_reuses_the_cluster_already_created(
    moto_url, tmp_path
):
    task = _task(moto_url)
    # The first attempt created the cluster but died before its checkpoint was kept.
    lost = await task.run(make_run_context(tmp_path, attempt=1))

    again = await task.run(make_run_context(tmp_path, attempt=2))
    other = await task.run(make_run_context(tmp_path, task_run_id="another-run"))

    assert again.checkpoint == lost.checkpoint
    assert other.checkpoint["jobFlowId"] != lost.checkpoint["jobFlowId"]
    assert len(_emr(moto_url).list_clusters()["Clusters"]) == 2
