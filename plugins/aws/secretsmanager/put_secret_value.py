"""`aws.secretsmanager.PutSecretValue`: store a new version of a secret."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SecretStr

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws._jobs import client_token
from sluice.plugins.aws.secretsmanager._secrets import call_with_secret, mask_secret


class SecretVersionOutputs(TaskOutputs):
    """The secret and the version just written."""

    arn: str
    name: str
    version_id: str | None = None
    version_stages: list[str] = []

    @classmethod
    def of(cls, response: dict[str, Any]) -> SecretVersionOutputs:
        """The outputs of a `PutSecretValue` or `CreateSecret` response."""
        stages = response.get("VersionStages")
        if stages is None:  # CreateSecret does not say: a first value is current
            stages = ["AWSCURRENT"] if response.get("VersionId") else []
        return cls(
            arn=response["ARN"],
            name=response["Name"],
            version_id=response.get("VersionId"),
            version_stages=stages,
        )


@register_task
class PutSecretValue(AwsTask):
    """Write a new value of a secret; it becomes AWSCURRENT (the old one AWSPREVIOUS).

    The call carries a token derived from the task run's idempotency key, so a retried
    attempt does not add a second version. The value never appears in outputs, logs
    or error messages.

    Example:
        ```yaml
        id: store_key
        namespace: company.team
        tasks:
          - id: store
            type: aws.secretsmanager.PutSecretValue
            region: us-east-1
            secretId: etl-bot/access-key
            secretString: '{"user": "etl-bot", "password": "change-me"}'
        ```
    """

    type_name: ClassVar[str] = "aws.secretsmanager.PutSecretValue"
    secret_id: str
    secret_string: SecretStr
    version_stages: list[str] = []

    async def run(self, ctx: RunContext) -> SecretVersionOutputs:
        """Put the value."""
        value = self.secret_string.get_secret_value()
        mask_secret(ctx, value)
        kwargs: dict[str, Any] = {
            "SecretId": self.secret_id,
            "SecretString": value,
            "ClientRequestToken": client_token(ctx),
        }
        if self.version_stages:
            kwargs["VersionStages"] = self.version_stages
        client = self.client("secretsmanager")
        response = await call_with_secret(
            self,
            f"secretsmanager:PutSecretValue {self.secret_id}",
            client.put_secret_value,
            value,
            **kwargs,
        )
        return SecretVersionOutputs.of(response)
