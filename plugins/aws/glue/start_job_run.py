"""`aws.glue.StartJobRun`: start a Glue job and wait for it durably."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, Waiting
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws._jobs import client_token, started
from sluice.plugins.aws.glue._runs import (
    FAILED_STATES,
    JobRunOutputs,
    follow_run,
    get_job_run,
    job_run_outputs,
    run_status,
)

RUN_TAG_ARGUMENT = "--sluice-idempotency-key"
"""Job argument that tags a run with the task run that started it."""


@register_task
class StartJobRun(AwsTask):
    """Start a Glue job run and, with `wait`, follow it until it ends.

    The wait is durable: the first attempt starts the run and hands its id to the
    engine as a checkpoint; later polls (every `interval`) look at that same run, so a
    restart never starts a second one. A run ending FAILED, STOPPED, TIMEOUT, ERROR or
    EXPIRED fails the task with Glue's error message. `maxDuration` is both the job's
    Glue timeout (whole minutes, rounded up, as Kestra sends it) and the longest the
    task waits. Each run carries a `--sluice-idempotency-key` argument (Glue
    scripts ignore arguments they do not read), so a retried start finds the run an
    earlier attempt started instead of starting another.

    Example:
        ```yaml
        id: glue_job
        namespace: company.team
        tasks:
          - id: etl
            type: aws.glue.StartJobRun
            region: us-east-1
            jobName: nightly-etl
            arguments:
              --day: "2025-01-01"
            interval: PT30S
            maxDuration: PT2H
        ```
    """

    type_name: ClassVar[str] = "aws.glue.StartJobRun"
    job_name: str
    arguments: dict[str, str] = Field(default_factory=dict)
    wait: bool = True
    # Each poll is a recorded event, and Glue runs last minutes: 10 s, not Kestra's 1 s.
    interval: timedelta = timedelta(seconds=10)
    max_duration: timedelta | None = None

    async def run(self, ctx: RunContext) -> JobRunOutputs | Waiting:
        """Start the run (first call) or look at it again (later calls)."""
        if ctx.checkpoint is None:
            run_id = await self._start(ctx)
            if self.wait:
                return started(ctx, {"jobRunId": run_id}, self.interval)
            run = await get_job_run(self, self.job_name, run_id)
            status = run_status(run, fail_on=FAILED_STATES)
            if status.error is not None:
                raise TaskError(
                    f"Glue job {self.job_name} run {run_id} ended {status.state}: "
                    f"{status.error}",
                    error_type=status.state,
                )
            return job_run_outputs(run)
        return await follow_run(
            self,
            ctx,
            self.job_name,
            fail_on=FAILED_STATES,
            interval=self.interval,
            max_duration=self.max_duration,
        )

    async def _start(self, ctx: RunContext) -> str:
        # Glue takes no idempotency token: tag the run with one, and reuse a run an
        # earlier attempt started but could not hand to the engine.
        token = client_token(ctx)
        if existing := await self._started_before(token):
            ctx.info(f"Glue job {self.job_name} run {existing} was started already")
            return existing
        kwargs: dict[str, Any] = {
            "JobName": self.job_name,
            "Arguments": {**self.arguments, RUN_TAG_ARGUMENT: token},
        }
        if self.max_duration is not None:
            kwargs["Timeout"] = max(
                1, math.ceil(self.max_duration.total_seconds() / 60)
            )
        glue = self.client("glue")
        response = await self.call(
            f"glue:StartJobRun {self.job_name}", glue.start_job_run, **kwargs
        )
        run_id: str = response["JobRunId"]
        ctx.info(f"Glue job {self.job_name} started run {run_id}")
        return run_id

    async def _started_before(self, token: str) -> str | None:
        glue = self.client("glue")
        response = await self.call(
            f"glue:GetJobRuns {self.job_name}",
            glue.get_job_runs,
            JobName=self.job_name,
            MaxResults=50,
        )
        for run in response.get("JobRuns", []):
            if run.get("Arguments", {}).get(RUN_TAG_ARGUMENT) == token:
                return str(run["Id"])
        return None
