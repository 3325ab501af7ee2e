"""What the Glue tasks share: the job-run outputs and one look at a job run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, TaskOutputs, Waiting
from sluice.plugins.aws._connection import AwsConnection
from sluice.plugins.aws._jobs import JobStatus, iso_time, poll_job

RUNNING_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
"""States in which a Glue job run may still change."""
FAILED_STATES = frozenset({"FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"})
"""Final states that fail `StartJobRun` (SUCCEEDED is the only good end)."""


class JobRunOutputs(TaskOutputs):
    """A Glue job run as Glue describes it (Kestra's `glue.model.Output`)."""

    job_name: str
    job_run_id: str
    state: str
    started_on: str | None = None
    completed_on: str | None = None
    last_modified_on: str | None = None
    execution_time: int | None = None
    timeout: int | None = None
    attempt: int | None = None
    error_message: str | None = None



def job_run_outputs(run: dict[str, Any]) -> JobRunOutputs:
    """The outputs of a `GetJobRun` response's `JobRun`."""
    return JobRunOutputs(
        job_name=run["JobName"],
        job_run_id=run["Id"],
        state=run["JobRunState"],
        started_on=iso_time(run.get("StartedOn")),
        completed_on=iso_time(run.get("CompletedOn")),
        last_modified_on=iso_time(run.get("LastModifiedOn")),
        execution_time=run.get("ExecutionTime"),
        timeout=run.get("Timeout"),
        attempt=run.get("Attempt"),
        error_message=run.get("ErrorMessage"),
    )


async def get_job_run(
    conn: AwsConnection, job_name: str, run_id: str
) -> dict[str, Any]:
    """The `JobRun` of one run of a job."""
    glue = conn.client("glue")
    response = await conn.call(
        f"glue:GetJobRun {job_name}/{run_id}",
        glue.get_job_run,
        JobName=job_name,
        RunId=run_id,
    )
    run: dict[str, Any] = response["JobRun"]
    return run


def run_status(run: dict[str, Any], *, fail_on: frozenset[str]) -> JobStatus:
    """A job run's `JobStatus`; a final state in `fail_on` carries Glue's message."""
    state = run["JobRunState"]
    error = None
    if state in fail_on:
        error = run.get("ErrorMessage") or "Glue gave no error message"
    return JobStatus(
        state=state, finished=state not in RUNNING_STATES, error=error, detail=run
    )


async def follow_run(
    conn: AwsConnection,
    ctx: RunContext,
    job_name: str,
    *,
    fail_on: frozenset[str],
    interval: timedelta,
    max_duration: timedelta | None,
) -> JobRunOutputs | Waiting:
    """Look at the checkpointed run once: `Waiting` while it runs, else its outputs."""

    async def poll(checkpoint: dict[str, JsonValue]) -> JobStatus:
        run = await get_job_run(conn, job_name, str(checkpoint["jobRunId"]))
        return run_status(run, fail_on=fail_on)

    what = f"Glue job {job_name} run {checkpoint_run(ctx)}"
    result = await poll_job(
        ctx, what, poll, interval=interval, max_duration=max_duration
    )
    if isinstance(result, Waiting):
        return result
    return job_run_outputs(result.detail)


def checkpoint_run(ctx: RunContext) -> str:
    """The run id a checkpoint holds (empty if there is none)."""
    checkpoint = ctx.checkpoint
    return str(checkpoint.get("jobRunId", "")) if isinstance(checkpoint, dict) else ""
