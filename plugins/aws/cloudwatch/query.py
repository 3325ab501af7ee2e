"""`aws.cloudwatch.Query`: a metric's statistic over a time window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field, model_validator

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.cloudwatch._metrics import Dimensions


class Datapoint(TaskOutputs):
    """One period's value of the statistic."""

    timestamp: str
    value: float
    unit: str | None = None


class QueryOutputs(TaskOutputs):
    """Datapoints oldest first, their count, and the newest value (`latest`)."""

    count: int
    datapoints: list[Datapoint]
    latest: float | None = None
    latest_timestamp: str | None = None


@register_task
class Query(AwsTask):
    """Read one statistic of a metric, per `period`, over a time window.

    The window is `startTime`..`endTime` when given; otherwise the `window` (PT5M)
    before `endTime`, which defaults to now. `period` also accepts Kestra's
    `periodSeconds` (a number of seconds).

    Example:
        ```yaml
        id: cloudwatch_query
        namespace: company.team
        tasks:
          - id: backlog
            type: aws.cloudwatch.Query
            region: us-east-1
            namespace: AWS/SQS
            metricName: ApproximateNumberOfMessagesVisible
            dimensions:
              QueueName: orders
            statistic: Maximum
            period: PT1M
            window: PT15M
        ```
    """

    type_name: ClassVar[str] = "aws.cloudwatch.Query"
    namespace: str
    metric_name: str
    dimensions: Dimensions = Field(default_factory=list)
    statistic: Literal["SampleCount", "Average", "Sum", "Minimum", "Maximum"] = (
        "Average"
    )
    period: timedelta = Field(
        default=timedelta(seconds=60),
        validation_alias=AliasChoices("period", "periodSeconds"),
    )
    window: timedelta = timedelta(minutes=5)
    start_time: datetime | None = None
    end_time: datetime | None = None
    unit: str | None = None

    @model_validator(mode="after")
    def _whole_seconds(self) -> Query:
        if self.period.total_seconds() < 1 or self.period.total_seconds() % 1:
            raise ValueError("period must be a whole number of seconds")
        return self

    async def run(self, ctx: RunContext) -> QueryOutputs:
        """Fetch the statistic and sort its datapoints by time."""
        end = self.end_time or ctx.clock.now()
        start = self.start_time or end - self.window
        kwargs: dict[str, Any] = {
            "Namespace": self.namespace,
            "MetricName": self.metric_name,
            "Dimensions": [d.to_api() for d in self.dimensions],
            "StartTime": start,
            "EndTime": end,
            "Period": int(self.period.total_seconds()),
            "Statistics": [self.statistic],
        }
        if self.unit:
            kwargs["Unit"] = self.unit
        cloudwatch = self.client("cloudwatch")
        response = await self.call(
            f"cloudwatch:GetMetricStatistics {self.namespace}/{self.metric_name}",
            cloudwatch.get_metric_statistics,
            **kwargs,
        )
        points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
        datapoints = [
            Datapoint(
                timestamp=p["Timestamp"].isoformat(),
                value=p[self.statistic],
                unit=p.get("Unit"),
            )
            for p in points
        ]
        last = datapoints[-1] if datapoints else None
        return QueryOutputs(
            count=len(datapoints),
            datapoints=datapoints,
            latest=last.value if last else None,
            latest_timestamp=last.timestamp if last else None,
        )
