"""AWS Secrets Manager tasks (`aws.secretsmanager.*`); values never leave as text."""

from sluice.plugins.aws.secretsmanager.create_secret import CreateSecret
from sluice.plugins.aws.secretsmanager.get_secret_value import (
    GetSecretValue,
    GetSecretValueOutputs,
)
from sluice.plugins.aws.secretsmanager.put_secret_value import (
    PutSecretValue,
    SecretVersionOutputs,
)

__all__ = [
    "CreateSecret",
    "GetSecretValue",
    "GetSecretValueOutputs",
    "PutSecretValue",
    "SecretVersionOutputs",
]
