"""`aws.iam.ListAccessKeys`: a user's access keys, oldest first."""

from __future__ import annotations

from typing import Any, ClassVar

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask


class AccessKey(TaskOutputs):
    """One access key (never its secret: IAM does not return it again)."""

    access_key_id: str
    status: str
    create_date: str | None = None


class ListAccessKeysOutputs(TaskOutputs):
    """The keys oldest first, how many, and how many are active."""

    access_keys: list[AccessKey]
    count: int
    active_count: int


@register_task
class ListAccessKeys(AwsTask):
    """List a user's access keys, oldest first (the one to rotate out is `[0]`).

    Example:
        ```yaml
        id: list_keys
        namespace: company.team
        tasks:
          - id: keys
            type: aws.iam.ListAccessKeys
            region: us-east-1
            userName: etl-bot
        ```
    """

    type_name: ClassVar[str] = "aws.iam.ListAccessKeys"
    user_name: str | None = None

    async def run(self, ctx: RunContext) -> ListAccessKeysOutputs:
        """Read every page of keys."""
        kwargs: dict[str, Any] = {"UserName": self.user_name} if self.user_name else {}
        iam = self.client("iam")
        found: list[dict[str, Any]] = []
        while True:
            page = await self.call(
                f"iam:ListAccessKeys {self.user_name or '(caller)'}",
                iam.list_access_keys,
                **kwargs,
            )
            found.extend(page.get("AccessKeyMetadata", []))
            if not page.get("IsTruncated"):
                break
            kwargs["Marker"] = page["Marker"]
        found.sort(key=lambda k: k["CreateDate"])
        keys = [
            AccessKey(
                access_key_id=k["AccessKeyId"],
                status=k["Status"],
                create_date=k["CreateDate"].isoformat(),
            )
            for k in found
        ]
        active = sum(1 for k in keys if k.status == "Active")
        return ListAccessKeysOutputs(
            access_keys=keys, count=len(keys), active_count=active
        )
