"""`aws.iam.DeleteAccessKey`: delete an access key for good."""

from __future__ import annotations

from typing import Any, ClassVar

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask


class DeleteAccessKeyOutputs(TaskOutputs):
    """The deleted key."""

    access_key_id: str


@register_task
class DeleteAccessKey(AwsTask):
    """Delete an access key; a key that does not exist fails the task (not retryable).

    The key is `keyId`: `accessKeyId` is the connection's own credential.

    Example:
        ```yaml
        id: delete_key
        namespace: company.team
        tasks:
          - id: delete
            type: aws.iam.DeleteAccessKey
            region: us-east-1
            userName: etl-bot
            keyId: AKIAIOSFODNN7EXAMPLE
        ```
    """

    type_name: ClassVar[str] = "aws.iam.DeleteAccessKey"
    user_name: str | None = None
    key_id: str

    async def run(self, ctx: RunContext) -> DeleteAccessKeyOutputs:
        """Delete the key."""
        kwargs: dict[str, Any] = {"AccessKeyId": self.key_id}
        if self.user_name:
            kwargs["UserName"] = self.user_name
        iam = self.client("iam")
        await self.call(
            f"iam:DeleteAccessKey {self.key_id}", iam.delete_access_key, **kwargs
        )
        return DeleteAccessKeyOutputs(access_key_id=self.key_id)
