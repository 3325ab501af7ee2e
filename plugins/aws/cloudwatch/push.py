"""`aws.cloudwatch.Push`: put custom metric values."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from sluice.core.plugin import PluginModel, RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.cloudwatch._metrics import Dimensions

BATCH = 1000
"""PutMetricData takes at most 1000 values per call."""


class MetricValue(PluginModel):
    """One value of one metric; `timestamp` defaults to now."""

    metric_name: str
    value: float
    unit: str | None = None
    dimensions: Dimensions = Field(default_factory=list)
    timestamp: datetime | None = None


class PushOutputs(TaskOutputs):
    """How many values were put."""

    count: int


@register_task
class Push(AwsTask):
    """Put metric values into a CloudWatch namespace (1000 per call).

    Example:
        ```yaml
        id: cloudwatch_push
        namespace: company.team
        tasks:
          - id: push
            type: aws.cloudwatch.Push
            region: us-east-1
            namespace: Company/Pipelines
            metrics:
              - metricName: RowsLoaded
                value: 1250
                unit: Count
                dimensions:
                  Pipeline: orders
        ```
    """

    type_name: ClassVar[str] = "aws.cloudwatch.Push"
    namespace: str
    metrics: list[MetricValue] = Field(min_length=1)

    async def run(self, ctx: RunContext) -> PushOutputs:
        """Put every value, batch after batch."""
        now = ctx.clock.now()
        data = [self._datum(metric, now) for metric in self.metrics]
        cloudwatch = self.client("cloudwatch")
        for start in range(0, len(data), BATCH):
            await self.call(
                f"cloudwatch:PutMetricData {self.namespace}",
                cloudwatch.put_metric_data,
                Namespace=self.namespace,
                MetricData=data[start : start + BATCH],
            )
        return PushOutputs(count=len(data))

    @staticmethod
    def _datum(metric: MetricValue, now: datetime) -> dict[str, Any]:
        datum: dict[str, Any] = {
            "MetricName": metric.metric_name,
            "Value": metric.value,
            "Timestamp": metric.timestamp or now,
            "Dimensions": [d.to_api() for d in metric.dimensions],
        }
        if metric.unit:
            datum["Unit"] = metric.unit
        return datum
