"""`aws.emr.DeleteServerlessApplication`: stop (if needed) and delete applications."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from sluice.core.errors import TaskError
from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, TaskOutputs, Waiting
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws._jobs import JobStatus, poll_job, started

_DELETABLE = frozenset({"CREATED", "STOPPED"})
_GONE = frozenset({"TERMINATED"})


class DeleteApplicationsOutputs(TaskOutputs):
    """The applications that are now deleted."""

    application_ids: list[str]


@register_task
class DeleteServerlessApplication(AwsTask):
    """Delete EMR Serverless applications, stopping started ones first.

    EMR Serverless deletes only CREATED or STOPPED applications (Kestra's task fails on
    a started one). A started application is stopped, and the task waits durably,
    every `interval`, until it has stopped, then deletes it. An application already
    deleted counts as deleted.

    Example:
        ```yaml
        id: emr_serverless_cleanup
        namespace: company.team
        tasks:
          - id: delete
            type: aws.emr.DeleteServerlessApplication
            region: us-east-1
            applicationIds: [00fabcdefgh12345]
        ```
    """

    type_name: ClassVar[str] = "aws.emr.DeleteServerlessApplication"
    application_ids: list[str] = Field(min_length=1)
    interval: timedelta = timedelta(seconds=10)
    max_duration: timedelta | None = None

    async def run(self, ctx: RunContext) -> DeleteApplicationsOutputs | Waiting:
        """Stop and delete what can be (first call), then the rest as they stop."""
        if ctx.checkpoint is None:
            status = await self._step()
            if not status.finished:
                return started(ctx, {"pending": status.detail}, self.interval)
        else:
            result = await poll_job(
                ctx,
                "EMR Serverless applications",
                lambda _: self._step(),
                interval=self.interval,
                max_duration=self.max_duration,
            )
            if isinstance(result, Waiting):
                return result
        return DeleteApplicationsOutputs(application_ids=self.application_ids)

    async def _step(self) -> JobStatus:
        """Delete every stopped application; stop started ones; say what is left."""
        pending: list[JsonValue] = []
        for app_id in self.application_ids:
            state = await self._state(app_id)
            if state is None or state in _GONE:
                continue
            if state in _DELETABLE:
                await self._act("DeleteApplication", app_id)
                continue
            if state in {"STARTED", "STARTING"}:
                await self._act("StopApplication", app_id)
            pending.append(app_id)
        if pending:
            return JobStatus(state="STOPPING", finished=False, detail=pending)
        return JobStatus(state="DELETED", finished=True, detail=[])

    async def _state(self, app_id: str) -> str | None:
        client = self.client("emr-serverless")
        try:
            response = await self.call(
                f"emr-serverless:GetApplication {app_id}",
                client.get_application,
                applicationId=app_id,
            )
        except TaskError as err:
            if err.error_type == "ResourceNotFoundException":
                return None
            raise
        application: dict[str, Any] = response["application"]
        return str(application["state"])

    async def _act(self, operation: str, app_id: str) -> None:
        client = self.client("emr-serverless")
        method = client.delete_application
        if operation == "StopApplication":
            method = client.stop_application
        await self.call(
            f"emr-serverless:{operation} {app_id}", method, applicationId=app_id
        )
