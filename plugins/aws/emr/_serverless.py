"""What the EMR Serverless tasks share: job-run outputs, starting and following runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, TaskOutputs, Waiting
from sluice.plugins.aws._connection import AwsConnection, AwsTask
from sluice.plugins.aws._jobs import (
    JobStatus,
    client_token,
    iso_time,
    poll_job,
    started,
)

ACTIVE_STATES = frozenset(
    {"SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING"}
)
"""Job-run states that may still change."""
FAILED_STATES = frozenset({"FAILED", "CANCELLED"})
"""Final job-run states that fail a wait (SUCCESS is the good end)."""


class JobRunOutputs(TaskOutputs):
    """An EMR Serverless job run as the service describes it."""

    application_id: str
    job_run_id: str
    state: str | None = None
    state_details: str | None = None
    name: str | None = None
    arn: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    total_execution_duration_seconds: int | None = None



def job_run_outputs(run: dict[str, Any]) -> JobRunOutputs:
    """The outputs of a `GetJobRun`/`ListJobRuns` job run."""
    return JobRunOutputs(
        application_id=run["applicationId"],
        job_run_id=run.get("jobRunId") or run["id"],
        state=run.get("state"),
        state_details=run.get("stateDetails") or None,
        name=run.get("name"),
        arn=run.get("arn"),
        created_at=iso_time(run.get("createdAt")),
        updated_at=iso_time(run.get("updatedAt")),
        total_execution_duration_seconds=run.get("totalExecutionDurationSeconds"),
    )


async def get_job_run(
    conn: AwsConnection, application_id: str, job_run_id: str
) -> dict[str, Any]:
    """One job run's description."""
    client = conn.client("emr-serverless")
    response = await conn.call(
        f"emr-serverless:GetJobRun {application_id}/{job_run_id}",
        client.get_job_run,
        applicationId=application_id,
        jobRunId=job_run_id,
    )
    run: dict[str, Any] = response["jobRun"]
    return run


class ServerlessJobTask(AwsTask):
    """Base of the tasks that start an EMR Serverless job run and may wait for it."""

    execution_role_arn: str
    job_name: str
    entry_point: str
    entry_point_arguments: list[str] = Field(default_factory=list)
    spark_submit_parameters: str | None = None
    wait: bool = False
    interval: timedelta = timedelta(seconds=10)
    max_duration: timedelta | None = None

    def job_driver(self, application_type: Literal["SPARK", "HIVE"]) -> dict[str, Any]:
        """SPARK runs `entryPoint` with spark-submit; HIVE runs it as the query."""
        if application_type == "HIVE":
            return {"hive": {"query": self.entry_point}}
        spark: dict[str, Any] = {"entryPoint": self.entry_point}
        if self.entry_point_arguments:
            spark["entryPointArguments"] = self.entry_point_arguments
        if self.spark_submit_parameters:
            spark["sparkSubmitParameters"] = self.spark_submit_parameters
        return {"sparkSubmit": spark}

    async def start_run(
        self,
        ctx: RunContext,
        application_id: str,
        application_type: Literal["SPARK", "HIVE"] = "SPARK",
    ) -> str:
        """Start the job run, with the task run's idempotency token as `clientToken`."""
        client = self.client("emr-serverless")
        response = await self.call(
            f"emr-serverless:StartJobRun {application_id}",
            client.start_job_run,
            applicationId=application_id,
            clientToken=client_token(ctx, "job-run"),
            executionRoleArn=self.execution_role_arn,
            name=self.job_name,
            jobDriver=self.job_driver(application_type),
        )
        job_run_id: str = response["jobRunId"]
        ctx.info(f"EMR Serverless job {self.job_name} started run {job_run_id}")
        return job_run_id

    async def started_or_described(
        self, ctx: RunContext, ids: dict[str, JsonValue]
    ) -> JobRunOutputs | Waiting:
        """After the start: wait durably, or describe the run as it is now."""
        if self.wait:
            return started(ctx, ids, self.interval)
        run = await get_job_run(self, str(ids["applicationId"]), str(ids["jobRunId"]))
        return job_run_outputs(run)

    async def follow(self, ctx: RunContext) -> JobRunOutputs | Waiting:
        """Look at the checkpointed run once; cancel it after `maxDuration`."""
        result = await poll_job(
            ctx,
            f"EMR Serverless job {self.job_name}",
            self._poll,
            interval=self.interval,
            max_duration=self.max_duration,
            cancel=self._cancel,
        )
        if isinstance(result, Waiting):
            return result
        return job_run_outputs(result.detail)

    async def _poll(self, checkpoint: dict[str, JsonValue]) -> JobStatus:
        run = await get_job_run(
            self, str(checkpoint["applicationId"]), str(checkpoint["jobRunId"])
        )
        state = run["state"]
        error = None
        if state in FAILED_STATES:
            error = run.get("stateDetails") or "EMR Serverless gave no details"
        return JobStatus(
            state=state, finished=state not in ACTIVE_STATES, error=error, detail=run
        )

    async def _cancel(self, checkpoint: dict[str, JsonValue]) -> None:
        application_id = str(checkpoint["applicationId"])
        job_run_id = str(checkpoint["jobRunId"])
        client = self.client("emr-serverless")
        await self.call(
            f"emr-serverless:CancelJobRun {application_id}/{job_run_id}",
            client.cancel_job_run,
            applicationId=application_id,
            jobRunId=job_run_id,
        )
