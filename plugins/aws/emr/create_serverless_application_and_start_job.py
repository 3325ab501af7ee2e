"""`aws.emr.CreateServerlessApplicationAndStartJob`: new application, one job run."""

from __future__ import annotations

from typing import ClassVar, Literal

from sluice.core.plugin import RunContext, Waiting
from sluice.core.registry import register_task
from sluice.plugins.aws._jobs import client_token
from sluice.plugins.aws.emr._serverless import JobRunOutputs, ServerlessJobTask


@register_task
class CreateServerlessApplicationAndStartJob(ServerlessJobTask):
    """Create an EMR Serverless application and start one job run on it.

    SPARK runs `entryPoint` with spark-submit; HIVE runs `entryPoint` as the query.
    Both calls carry tokens derived from the task run's idempotency key, so a retried
    attempt does not create a second application or run. `wait` works as in
    `aws.emr.StartServerlessJobRun`.

    Example:
        ```yaml
        id: emr_serverless_new
        namespace: company.team
        tasks:
          - id: job
            type: aws.emr.CreateServerlessApplicationAndStartJob
            region: us-east-1
            releaseLabel: emr-7.1.0
            applicationType: SPARK
            executionRoleArn: arn:aws:iam::123456789012:role/emr-serverless-job
            jobName: aggregate
            entryPoint: s3://jobs/aggregate.py
        ```
    """

    type_name: ClassVar[str] = "aws.emr.CreateServerlessApplicationAndStartJob"
    release_label: str
    application_type: Literal["SPARK", "HIVE"]
    application_name: str | None = None

    async def run(self, ctx: RunContext) -> JobRunOutputs | Waiting:
        """Create and start (first call) or look at the run again (later calls)."""
        if ctx.checkpoint is not None:
            return await self.follow(ctx)
        client = self.client("emr-serverless")
        created = await self.call(
            f"emr-serverless:CreateApplication {self.release_label}",
            client.create_application,
            name=self.application_name or self.job_name,
            releaseLabel=self.release_label,
            type=self.application_type,
            clientToken=client_token(ctx, "application"),
        )
        application_id: str = created["applicationId"]
        ctx.info(f"EMR Serverless application {application_id} created")
        job_run_id = await self.start_run(ctx, application_id, self.application_type)
        return await self.started_or_described(
            ctx, {"applicationId": application_id, "jobRunId": job_run_id}
        )
