"""`aws.iam.UpdateAccessKey`: activate or deactivate an access key."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask


class UpdateAccessKeyOutputs(TaskOutputs):
    """The key and its new status."""

    access_key_id: str
    status: str


@register_task
class UpdateAccessKey(AwsTask):
    """Set an access key Active or Inactive (deactivate the old key before deleting it).

    The key is `keyId`: `accessKeyId` is the connection's own credential.

    Example:
        ```yaml
        id: deactivate_key
        namespace: company.team
        tasks:
          - id: deactivate
            type: aws.iam.UpdateAccessKey
            region: us-east-1
            userName: etl-bot
            keyId: AKIAIOSFODNN7EXAMPLE
            status: Inactive
        ```
    """

    type_name: ClassVar[str] = "aws.iam.UpdateAccessKey"
    user_name: str | None = None
    key_id: str
    status: Literal["Active", "Inactive"]

    async def run(self, ctx: RunContext) -> UpdateAccessKeyOutputs:
        """Change the key's status."""
        kwargs: dict[str, Any] = {
            "AccessKeyId": self.key_id,
            "Status": self.status,
        }
        if self.user_name:
            kwargs["UserName"] = self.user_name
        iam = self.client("iam")
        await self.call(
            f"iam:UpdateAccessKey {self.key_id}", iam.update_access_key, **kwargs
        )
        return UpdateAccessKeyOutputs(access_key_id=self.key_id, status=self.status)
