"""`aws.iam.CreateAccessKey`: a new access key for an IAM user (key rotation)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import SecretStr

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask


class CreateAccessKeyOutputs(TaskOutputs):
    """The new key; `secretAccessKey` is a secret output (stored redacted)."""

    access_key_id: str
    secret_access_key: SecretStr
    user_name: str
    status: str
    create_date: str | None = None


@register_task
class CreateAccessKey(AwsTask):
    """Create an access key for an IAM user (the caller's when `userName` is unset).

    The secret access key is a secret output: the engine stores it redacted, and the
    task masks it in logs. Hand it on in the same execution, e.g. to
    `aws.secretsmanager.PutSecretValue`. IAM allows two keys per user.

    Example:
        ```yaml
        id: rotate_key
        namespace: company.team
        tasks:
          - id: new_key
            type: aws.iam.CreateAccessKey
            region: us-east-1
            userName: etl-bot
        ```
    """

    type_name: ClassVar[str] = "aws.iam.CreateAccessKey"
    user_name: str | None = None

    async def run(self, ctx: RunContext) -> CreateAccessKeyOutputs:
        """Create the key and mask its secret."""
        kwargs: dict[str, Any] = {"UserName": self.user_name} if self.user_name else {}
        iam = self.client("iam")
        response = await self.call(
            f"iam:CreateAccessKey {self.user_name or '(caller)'}",
            iam.create_access_key,
            **kwargs,
        )
        key = response["AccessKey"]
        ctx.mask(key["SecretAccessKey"])
        created = key.get("CreateDate")
        return CreateAccessKeyOutputs(
            access_key_id=key["AccessKeyId"],
            secret_access_key=SecretStr(key["SecretAccessKey"]),
            user_name=key["UserName"],
            status=key["Status"],
            create_date=created.isoformat() if created else None,
        )
