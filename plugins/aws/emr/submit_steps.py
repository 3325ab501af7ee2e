"""`aws.emr.SubmitSteps`: add steps to a running EMR cluster."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.emr._steps import StepConfig


class SubmitStepsOutputs(TaskOutputs):
    """The ids of the added steps, in the order given."""

    step_ids: list[str]


@register_task
class SubmitSteps(AwsTask):
    """Add steps to an existing EMR cluster (AddJobFlowSteps); it does not wait.

    Example:
        ```yaml
        id: emr_steps
        namespace: company.team
        tasks:
          - id: steps
            type: aws.emr.SubmitSteps
            region: us-east-1
            clusterId: j-2AXXXXXXGAPLF
            steps:
              - name: report
                jar: command-runner.jar
                commands: ["spark-submit s3://jobs/report.py --title 'Daily report'"]
                actionOnFailure: CONTINUE
        ```
    """

    type_name: ClassVar[str] = "aws.emr.SubmitSteps"
    cluster_id: str
    steps: list[StepConfig] = Field(min_length=1)
    execution_role_arn: str | None = None

    async def run(self, ctx: RunContext) -> SubmitStepsOutputs:
        """Add the steps."""
        kwargs: dict[str, Any] = {
            "JobFlowId": self.cluster_id,
            "Steps": [step.to_api() for step in self.steps],
        }
        if self.execution_role_arn:
            kwargs["ExecutionRoleArn"] = self.execution_role_arn
        emr = self.client("emr")
        response = await self.call(
            f"emr:AddJobFlowSteps {self.cluster_id}", emr.add_job_flow_steps, **kwargs
        )
        return SubmitStepsOutputs(step_ids=response["StepIds"])
