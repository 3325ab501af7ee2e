"""Amazon Athena tasks (`aws.athena.*`)."""

from sluice.plugins.aws.athena.query import Query, QueryOutputs

__all__ = ["Query", "QueryOutputs"]
