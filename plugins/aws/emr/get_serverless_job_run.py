"""`aws.emr.GetServerlessJobRun`: describe one EMR Serverless job run."""

from __future__ import annotations

from typing import ClassVar

from sluice.core.plugin import RunContext
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.emr._serverless import (
    JobRunOutputs,
    get_job_run,
    job_run_outputs,
)


@register_task
class GetServerlessJobRun(AwsTask):
    """Describe a job run; any state is reported, none fails the task.

    Example:
        ```yaml
        id: emr_serverless_status
        namespace: company.team
        tasks:
          - id: status
            type: aws.emr.GetServerlessJobRun
            region: us-east-1
            applicationId: 00fabcdefgh12345
            jobRunId: 00fabcdefgh67890
        ```
    """

    type_name: ClassVar[str] = "aws.emr.GetServerlessJobRun"
    application_id: str
    job_run_id: str

    async def run(self, ctx: RunContext) -> JobRunOutputs:
        """Fetch the run's description."""
        run = await get_job_run(self, self.application_id, self.job_run_id)
        return job_run_outputs(run)
