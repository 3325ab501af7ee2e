"""`aws.emr.CreateClusterAndSubmitSteps`: start an EMR cluster with steps, and wait."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import AliasChoices, Field

from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, TaskOutputs, Waiting
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws._jobs import JobStatus, client_token, poll_job, started
from sluice.plugins.aws.emr._steps import StepConfig, cluster_status

RUN_TAG = "sluice:idempotency-key"
"""Cluster tag naming the task run that created the cluster."""


class ClusterOutputs(TaskOutputs):
    """The cluster's id and, after a wait, its state and each step's state."""

    job_flow_id: str
    state: str | None = None
    step_ids: list[str] = Field(default_factory=list)
    step_states: dict[str, str] = Field(default_factory=dict)


@register_task
class CreateClusterAndSubmitSteps(AwsTask):
    """Create an EMR cluster (RunJobFlow) with steps; with `wait`, follow it.

    The wait is durable: the first attempt creates the cluster and hands its id and step
    ids to the engine; later polls, every `interval`, look at that same cluster. It ends
    when the cluster is idle (WAITING) or TERMINATED with every step COMPLETED. Unlike
    Kestra, TERMINATED_WITH_ERRORS, a FAILED or CANCELLED step, or a termination before
    the steps ended fails the task with EMR's reason. After `maxDuration` the task
    fails; the cluster is left as it is. The cluster is tagged
    `sluice:idempotency-key`, so a retried start finds the cluster an earlier attempt
    created instead of creating another.

    Example:
        ```yaml
        id: emr_cluster
        namespace: company.team
        tasks:
          - id: cluster
            type: aws.emr.CreateClusterAndSubmitSteps
            region: us-east-1
            clusterName: nightly-spark
            releaseLabel: emr-7.1.0
            applications: [Spark]
            logUri: s3://emr-logs/nightly/
            masterInstanceType: m5.xlarge
            slaveInstanceType: m5.xlarge
            instanceCount: 3
            steps:
              - name: aggregate
                jar: command-runner.jar
                commands:
                  - spark-submit s3://jobs/aggregate.py --day 2025-01-01
                actionOnFailure: TERMINATE_CLUSTER
            wait: true
            maxDuration: PT3H
        ```
    """

    type_name: ClassVar[str] = "aws.emr.CreateClusterAndSubmitSteps"
    cluster_name: str
    release_label: str = "emr-5.20.0"
    steps: list[StepConfig] = Field(default_factory=list)
    applications: list[str] = Field(default_factory=list)
    log_uri: str | None = None
    job_flow_role: str = "EMR_EC2_DefaultRole"
    service_role: str = "EMR_DefaultRole"
    visible_to_all_users: bool = True
    master_instance_type: str
    slave_instance_type: str
    instance_count: int = Field(ge=1)
    keep_job_flow_alive_when_no_steps: bool = False
    ec2_key_name: str | None = None
    ec2_subnet_id: str | None = None
    wait: bool = False
    interval: timedelta = Field(
        default=timedelta(seconds=10),
        validation_alias=AliasChoices("interval", "completionCheckInterval"),
    )
    max_duration: timedelta | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "maxDuration", "max_duration", "waitUntilCompletion"
        ),
    )

    async def run(self, ctx: RunContext) -> ClusterOutputs | Waiting:
        """Create the cluster (first call) or look at it again (later calls)."""
        if ctx.checkpoint is None:
            ids = await self._start(ctx)
            if not self.wait:
                return ClusterOutputs(
                    job_flow_id=str(ids["jobFlowId"]), step_ids=ids["stepIds"]
                )
            return started(ctx, ids, self.interval)
        result = await poll_job(
            ctx,
            f"EMR cluster {self.cluster_name}",
            self._poll,
            interval=self.interval,
            max_duration=self.max_duration,
        )
        if isinstance(result, Waiting):
            return result
        cluster = result.detail["cluster"]
        return ClusterOutputs(
            job_flow_id=cluster["Id"],
            state=result.state,
            step_ids=list(result.detail["stepStates"]),
            step_states=result.detail["stepStates"],
        )

    def _request(self, token: str) -> dict[str, Any]:
        instances: dict[str, Any] = {
            "MasterInstanceType": self.master_instance_type,
            "SlaveInstanceType": self.slave_instance_type,
            "InstanceCount": self.instance_count,
            "KeepJobFlowAliveWhenNoSteps": self.keep_job_flow_alive_when_no_steps,
        }
        if self.ec2_key_name:
            instances["Ec2KeyName"] = self.ec2_key_name
        if self.ec2_subnet_id:
            instances["Ec2SubnetId"] = self.ec2_subnet_id
        request: dict[str, Any] = {
            "Name": self.cluster_name,
            "ReleaseLabel": self.release_label,
            "Instances": instances,
            "Steps": [step.to_api() for step in self.steps],
            "Applications": [{"Name": name} for name in self.applications],
            "JobFlowRole": self.job_flow_role,
            "ServiceRole": self.service_role,
            "VisibleToAllUsers": self.visible_to_all_users,
            "Tags": [{"Key": RUN_TAG, "Value": token}],
        }
        if self.log_uri:
            request["LogUri"] = self.log_uri
        return request

    async def _start(self, ctx: RunContext) -> dict[str, JsonValue]:
        # RunJobFlow takes no idempotency token: tag the cluster with one, and reuse a
        # cluster an earlier attempt created but could not hand to the engine.
        token = client_token(ctx)
        cluster_id = await self._created_before(token)
        if cluster_id is None:
            emr = self.client("emr")
            created = await self.call(
                f"emr:RunJobFlow {self.cluster_name}",
                emr.run_job_flow,
                **self._request(token),
            )
            cluster_id = str(created["JobFlowId"])
        ctx.info(f"EMR cluster {self.cluster_name}: {cluster_id}")
        steps = await self._steps(cluster_id) if self.steps else []
        # ListSteps returns the newest first; keep submission order.
        return {"jobFlowId": cluster_id, "stepIds": [s["Id"] for s in reversed(steps)]}

    async def _created_before(self, token: str) -> str | None:
        emr = self.client("emr")
        listed = await self.call(
            f"emr:ListClusters {self.cluster_name}",
            emr.list_clusters,
            ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"],
        )
        for summary in listed.get("Clusters", []):
            if summary.get("Name") != self.cluster_name:
                continue
            described = await self.call(
                f"emr:DescribeCluster {summary['Id']}",
                emr.describe_cluster,
                ClusterId=summary["Id"],
            )
            tags = described["Cluster"].get("Tags", [])
            if {"Key": RUN_TAG, "Value": token} in tags:
                return str(summary["Id"])
        return None

    async def _steps(self, cluster_id: str) -> list[dict[str, Any]]:
        emr = self.client("emr")
        steps: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ClusterId": cluster_id}
        while True:
            page = await self.call(
                f"emr:ListSteps {cluster_id}", emr.list_steps, **kwargs
            )
            steps.extend(page.get("Steps", []))
            if not page.get("Marker"):
                return steps
            kwargs["Marker"] = page["Marker"]

    async def _poll(self, checkpoint: dict[str, JsonValue]) -> JobStatus:
        cluster_id = str(checkpoint["jobFlowId"])
        emr = self.client("emr")
        described = await self.call(
            f"emr:DescribeCluster {cluster_id}",
            emr.describe_cluster,
            ClusterId=cluster_id,
        )
        step_ids = [str(s) for s in checkpoint.get("stepIds") or []]
        steps = await self._steps(cluster_id) if step_ids else []
        return cluster_status(described["Cluster"], steps, step_ids)
