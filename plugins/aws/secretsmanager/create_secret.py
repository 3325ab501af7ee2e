"""`aws.secretsmanager.CreateSecret`: create a secret, with a first value or none."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, SecretStr

from sluice.core.plugin import RunContext
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws._jobs import client_token
from sluice.plugins.aws.secretsmanager._secrets import call_with_secret, mask_secret
from sluice.plugins.aws.secretsmanager.put_secret_value import SecretVersionOutputs


@register_task
class CreateSecret(AwsTask):
    """Create a secret; a secret of that name already existing fails the task.

    Example:
        ```yaml
        id: create_secret
        namespace: company.team
        tasks:
          - id: create
            type: aws.secretsmanager.CreateSecret
            region: us-east-1
            name: etl-bot/access-key
            description: Access key of the ETL bot, rotated weekly
            secretString: '{"user": "etl-bot"}'
            tags:
              team: data
        ```
    """

    type_name: ClassVar[str] = "aws.secretsmanager.CreateSecret"
    name: str
    secret_string: SecretStr | None = None
    description: str | None = None
    kms_key_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    async def run(self, ctx: RunContext) -> SecretVersionOutputs:
        """Create the secret."""
        kwargs: dict[str, Any] = {
            "Name": self.name,
            "ClientRequestToken": client_token(ctx),
        }
        value = ""
        if self.secret_string is not None:
            value = self.secret_string.get_secret_value()
            mask_secret(ctx, value)
            kwargs["SecretString"] = value
        if self.description:
            kwargs["Description"] = self.description
        if self.kms_key_id:
            kwargs["KmsKeyId"] = self.kms_key_id
        if self.tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        client = self.client("secretsmanager")
        response = await call_with_secret(
            self,
            f"secretsmanager:CreateSecret {self.name}",
            client.create_secret,
            value,
            **kwargs,
        )
        return SecretVersionOutputs.of(response)
