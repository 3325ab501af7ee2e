"""`aws.secretsmanager.GetSecretValue`: read a secret as a secret output."""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from pydantic import SecretStr

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.secretsmanager._secrets import mask_secret


class GetSecretValueOutputs(TaskOutputs):
    """The secret's `value` (a secret output, stored redacted) and its version."""

    value: SecretStr
    arn: str
    name: str
    version_id: str | None = None
    version_stages: list[str] = []


@register_task
class GetSecretValue(AwsTask):
    """Read a secret's value (AWSCURRENT unless `versionId`/`versionStage` say else).

    The value is a secret output: stored redacted, masked in logs (and so is each text
    field of a JSON secret). A binary secret is returned as base64 text.

    Example:
        ```yaml
        id: read_secret
        namespace: company.team
        tasks:
          - id: db
            type: aws.secretsmanager.GetSecretValue
            region: us-east-1
            secretId: prod/db/password
        ```
    """

    type_name: ClassVar[str] = "aws.secretsmanager.GetSecretValue"
    secret_id: str
    version_id: str | None = None
    version_stage: str | None = None

    async def run(self, ctx: RunContext) -> GetSecretValueOutputs:
        """Fetch and mask the value."""
        kwargs: dict[str, Any] = {"SecretId": self.secret_id}
        if self.version_id:
            kwargs["VersionId"] = self.version_id
        if self.version_stage:
            kwargs["VersionStage"] = self.version_stage
        client = self.client("secretsmanager")
        response = await self.call(
            f"secretsmanager:GetSecretValue {self.secret_id}",
            client.get_secret_value,
            **kwargs,
        )
        value = response.get("SecretString")
        if value is None:
            value = base64.b64encode(response.get("SecretBinary", b"")).decode()
        mask_secret(ctx, value)
        return GetSecretValueOutputs(
            value=SecretStr(value),
            arn=response["ARN"],
            name=response["Name"],
            version_id=response.get("VersionId"),
            version_stages=response.get("VersionStages", []),
        )
