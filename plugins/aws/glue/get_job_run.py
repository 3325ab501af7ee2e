"""`aws.glue.GetJobRun`: describe one Glue job run, or the latest one."""

from __future__ import annotations

from typing import Any, ClassVar

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.glue._runs import JobRunOutputs, get_job_run, job_run_outputs


@register_task
class GetJobRun(AwsTask):
    """Describe a Glue job run: the one given by `runId`, or the latest started.

    It reports the state whatever it is (a FAILED run does not fail this task), so a
    flow can branch on `outputs.<id>.state`.

    Example:
        ```yaml
        id: glue_status
        namespace: company.team
        tasks:
          - id: last_run
            type: aws.glue.GetJobRun
            region: us-east-1
            jobName: nightly-etl
        ```
    """

    type_name: ClassVar[str] = "aws.glue.GetJobRun"
    job_name: str
    run_id: str | None = None

    async def run(self, ctx: RunContext) -> JobRunOutputs:
        """Fetch the run and return its description."""
        if self.run_id:
            return job_run_outputs(await get_job_run(self, self.job_name, self.run_id))
        return job_run_outputs(await self._latest())

    async def _latest(self) -> dict[str, Any]:
        glue = self.client("glue")
        response = await self.call(
            f"glue:GetJobRuns {self.job_name}",
            glue.get_job_runs,
            JobName=self.job_name,
            MaxResults=10,
        )
        runs: list[dict[str, Any]] = response.get("JobRuns", [])
        if not runs:
            raise TaskError(
                f"Glue job {self.job_name} has no runs", error_type="NoJobRun"
            )
        return max(runs, key=lambda run: run["StartedOn"])
