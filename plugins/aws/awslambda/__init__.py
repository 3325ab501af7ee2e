"""AWS Lambda tasks (`aws.lambda.*`), in `awslambda` since `lambda` is a keyword."""

from sluice.plugins.aws.awslambda.invoke import Invoke, InvokeOutputs

__all__ = ["Invoke", "InvokeOutputs"]
