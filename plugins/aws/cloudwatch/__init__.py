"""Amazon CloudWatch metric tasks (`aws.cloudwatch.*`)."""

from sluice.plugins.aws.cloudwatch._metrics import Dimension
from sluice.plugins.aws.cloudwatch.push import MetricValue, Push, PushOutputs
from sluice.plugins.aws.cloudwatch.query import Datapoint, Query, QueryOutputs

__all__ = [
    "Datapoint",
    "Dimension",
    "MetricValue",
    "Push",
    "PushOutputs",
    "Query",
    "QueryOutputs",
]
