"""`aws.glue.StopJobRun`: stop a Glue job run and wait until it has stopped."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, Waiting
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws._jobs import started
from sluice.plugins.aws.glue._runs import (
    JobRunOutputs,
    follow_run,
    get_job_run,
    job_run_outputs,
)


@register_task
class StopJobRun(AwsTask):
    """Ask Glue to stop a job run; with `wait`, follow it until it has ended.

    Any final state succeeds (a run that finished or failed before the stop is no longer
    running either); the state is in the outputs. Without `wait` the task reports the
    state right after the request, usually STOPPING, and does not fail on it (unlike
    Kestra).

    Example:
        ```yaml
        id: glue_stop
        namespace: company.team
        tasks:
          - id: stop
            type: aws.glue.StopJobRun
            region: us-east-1
            jobName: nightly-etl
            jobRunId: "{{ outputs.etl.jobRunId }}"
        ```
    """

    type_name: ClassVar[str] = "aws.glue.StopJobRun"
    job_name: str
    job_run_id: str
    wait: bool = True
    interval: timedelta = timedelta(seconds=1)
    max_duration: timedelta | None = None

    async def run(self, ctx: RunContext) -> JobRunOutputs | Waiting:
        """Send the stop request (first call) or look at the run again."""
        if ctx.checkpoint is None:
            await self._stop()
            if self.wait:
                return started(ctx, {"jobRunId": self.job_run_id}, self.interval)
            return job_run_outputs(
                await get_job_run(self, self.job_name, self.job_run_id)
            )
        return await follow_run(
            self,
            ctx,
            self.job_name,
            fail_on=frozenset(),
            interval=self.interval,
            max_duration=self.max_duration,
        )

    async def _stop(self) -> None:
        glue = self.client("glue")
        response = await self.call(
            f"glue:BatchStopJobRun {self.job_name}/{self.job_run_id}",
            glue.batch_stop_job_run,
            JobName=self.job_name,
            JobRunIds=[self.job_run_id],
        )
        for error in response.get("Errors", []):
            detail = error.get("ErrorDetail", {})
            code = detail.get("ErrorCode", "StopFailed")
            raise TaskError(
                f"glue:BatchStopJobRun {self.job_name}/{self.job_run_id} failed: "
                f"{code}: {detail.get('ErrorMessage', '')}",
                error_type=code,
            )
