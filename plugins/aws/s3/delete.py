"""`aws.s3.Delete`: delete one object (or one version of it)."""

from __future__ import annotations

from typing import Any, ClassVar

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask


class DeleteOutputs(TaskOutputs):
    """Kestra's outputs: the version deleted or the delete marker made."""

    version_id: str | None = None
    delete_marker: bool = False
    request_charged: str | None = None


@register_task
class Delete(AwsTask):
    """Delete an object; deleting a key that does not exist succeeds, as in S3.

    Example:
        ```yaml
        id: cleanup
        namespace: company.team
        tasks:
          - id: delete
            type: aws.s3.Delete
            region: us-east-1
            bucket: landing
            key: tmp/scratch.csv
        ```
    """

    type_name: ClassVar[str] = "aws.s3.Delete"
    bucket: str
    key: str
    version_id: str | None = None
    bypass_governance_retention: bool | None = None
    mfa: str | None = None
    request_payer: str | None = None
    expected_bucket_owner: str | None = None

    async def run(self, ctx: RunContext) -> DeleteOutputs:
        """Delete the object."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        for name, value in (
            ("VersionId", self.version_id),
            ("BypassGovernanceRetention", self.bypass_governance_retention),
            ("MFA", self.mfa),
            ("RequestPayer", self.request_payer),
            ("ExpectedBucketOwner", self.expected_bucket_owner),
        ):
            if value is not None:
                kwargs[name] = value
        s3 = self.client("s3")
        result = await self.call(
            f"s3:DeleteObject s3://{self.bucket}/{self.key}", s3.delete_object, **kwargs
        )
        ctx.info(f"deleted s3://{self.bucket}/{self.key}")
        return DeleteOutputs(
            version_id=result.get("VersionId"),
            delete_marker=bool(result.get("DeleteMarker", False)),
            request_charged=result.get("RequestCharged"),
        )
