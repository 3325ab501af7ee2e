"""`aws.emr.ListServerlessJobRuns`: the job runs of an application, and how many run."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.emr._serverless import (
    ACTIVE_STATES,
    JobRunOutputs,
    job_run_outputs,
)


class ListJobRunsOutputs(TaskOutputs):
    """The matching runs (newest first), how many there are, and how many are active."""

    job_runs: list[JobRunOutputs]
    count: int
    active_count: int


@register_task
class ListServerlessJobRuns(AwsTask):
    """List an application's job runs, optionally only in some `states`.

    `activeCount` counts the runs not yet ended (SUBMITTED, PENDING, SCHEDULED, RUNNING,
    QUEUED, CANCELLING), so a flow can ask "is a job already running?" before starting
    another. Every page is read, up to `limit` runs.

    Example:
        ```yaml
        id: emr_serverless_busy
        namespace: company.team
        tasks:
          - id: runs
            type: aws.emr.ListServerlessJobRuns
            region: us-east-1
            applicationId: 00fabcdefgh12345
            states: [RUNNING, PENDING, SUBMITTED, SCHEDULED, QUEUED]
        ```
    """

    type_name: ClassVar[str] = "aws.emr.ListServerlessJobRuns"
    application_id: str
    states: list[str] = Field(default_factory=list)
    limit: int = Field(default=1000, ge=1)

    async def run(self, ctx: RunContext) -> ListJobRunsOutputs:
        """Read the runs, page after page."""
        client = self.client("emr-serverless")
        kwargs: dict[str, Any] = {"applicationId": self.application_id}
        if self.states:
            kwargs["states"] = self.states
        runs: list[JobRunOutputs] = []
        while len(runs) < self.limit:
            page = await self.call(
                f"emr-serverless:ListJobRuns {self.application_id}",
                client.list_job_runs,
                **kwargs,
            )
            runs.extend(job_run_outputs(run) for run in page.get("jobRuns", []))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        runs = runs[: self.limit]
        active = sum(1 for run in runs if run.state in ACTIVE_STATES)
        return ListJobRunsOutputs(job_runs=runs, count=len(runs), active_count=active)
