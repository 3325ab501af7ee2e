"""`aws.emr.DeleteCluster`: terminate EMR clusters."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask


class DeleteClusterOutputs(TaskOutputs):
    """The clusters asked to terminate."""

    cluster_ids: list[str]


@register_task
class DeleteCluster(AwsTask):
    """Terminate EMR clusters (TerminateJobFlows); it does not wait for the end.

    Example:
        ```yaml
        id: emr_delete
        namespace: company.team
        tasks:
          - id: delete
            type: aws.emr.DeleteCluster
            region: us-east-1
            clusterIds: [j-2AXXXXXXGAPLF]
        ```
    """

    type_name: ClassVar[str] = "aws.emr.DeleteCluster"
    cluster_ids: list[str] = Field(min_length=1)

    async def run(self, ctx: RunContext) -> DeleteClusterOutputs:
        """Terminate the clusters."""
        emr = self.client("emr")
        await self.call(
            f"emr:TerminateJobFlows {', '.join(self.cluster_ids)}",
            emr.terminate_job_flows,
            JobFlowIds=self.cluster_ids,
        )
        return DeleteClusterOutputs(cluster_ids=self.cluster_ids)
