"""`aws.emr.StartServerlessJobRun`: run a Spark job on an EMR Serverless application."""

from __future__ import annotations

from typing import ClassVar

from sluice.core.plugin import RunContext, Waiting
from sluice.core.registry import register_task
from sluice.plugins.aws.emr._serverless import JobRunOutputs, ServerlessJobTask


@register_task
class StartServerlessJobRun(ServerlessJobTask):
    """Start a Spark job run on an existing application; with `wait`, follow it.

    The start carries the task run's idempotency token (`clientToken`), so a retried
    start does not run the job twice. The wait is durable: later polls, every
    `interval`, look at the same run; FAILED or CANCELLED fails the task with EMR's
    state details, and after `maxDuration` the run is cancelled and the task fails.

    Example:
        ```yaml
        id: emr_serverless_job
        namespace: company.team
        tasks:
          - id: job
            type: aws.emr.StartServerlessJobRun
            region: us-east-1
            applicationId: 00fabcdefgh12345
            executionRoleArn: arn:aws:iam::123456789012:role/emr-serverless-job
            jobName: aggregate
            entryPoint: s3://jobs/aggregate.py
            entryPointArguments: ["--day", "2025-01-01"]
            sparkSubmitParameters: --conf spark.executor.cores=2
            wait: true
            interval: PT30S
        ```
    """

    type_name: ClassVar[str] = "aws.emr.StartServerlessJobRun"
    application_id: str

    async def run(self, ctx: RunContext) -> JobRunOutputs | Waiting:
        """Start the run (first call) or look at it again (later calls)."""
        if ctx.checkpoint is not None:
            return await self.follow(ctx)
        job_run_id = await self.start_run(ctx, self.application_id)
        return await self.started_or_described(
            ctx, {"applicationId": self.application_id, "jobRunId": job_run_id}
        )
