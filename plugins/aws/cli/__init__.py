"""The AWS CLI task (`aws.cli.AwsCLI`)."""

from sluice.plugins.aws.cli.aws_cli import AwsCLI, AwsCliOutputs

__all__ = ["AwsCLI", "AwsCliOutputs"]
