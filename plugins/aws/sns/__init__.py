"""Amazon SNS tasks (`aws.sns.*`)."""

from sluice.plugins.aws.sns.publish import Publish, PublishOutputs

__all__ = ["Publish", "PublishOutputs"]
