"""`aws.s3.CreateBucket`: create a bucket in the connection's region."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask


class CreateBucketOutputs(TaskOutputs):
    """The bucket, its region, and the location S3 returned."""

    bucket: str
    region: str | None = None
    location: str | None = None


@register_task
class CreateBucket(AwsTask):
    """Create a bucket; a bucket you already own counts as created (safe to retry).

    Outside us-east-1 the bucket is created in `region` (its LocationConstraint).

    Example:
        ```yaml
        id: make_bucket
        namespace: company.team
        tasks:
          - id: create
            type: aws.s3.CreateBucket
            region: eu-west-1
            bucket: company-landing-eu
        ```
    """

    type_name: ClassVar[str] = "aws.s3.CreateBucket"
    bucket: str
    acl: str | None = None
    grant_full_control: str | None = None
    grant_read: str | None = None
    grant_read_acp: str | None = Field(default=None, alias="grantReadACP")
    grant_write: str | None = None
    grant_write_acp: str | None = Field(default=None, alias="grantWriteACP")
    object_lock_enabled_for_bucket: bool | None = None

    async def run(self, ctx: RunContext) -> CreateBucketOutputs:
        """Create the bucket, or find it already ours."""
        s3 = self.client("s3")
        region = self.region or s3.meta.region_name
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        for name, value in (
            ("ACL", self.acl),
            ("GrantFullControl", self.grant_full_control),
            ("GrantRead", self.grant_read),
            ("GrantReadACP", self.grant_read_acp),
            ("GrantWrite", self.grant_write),
            ("GrantWriteACP", self.grant_write_acp),
            ("ObjectLockEnabledForBucket", self.object_lock_enabled_for_bucket),
        ):
            if value is not None:
                kwargs[name] = value
        try:
            result = await self.call(
                f"s3:CreateBucket {self.bucket}", s3.create_bucket, **kwargs
            )
        except TaskError as err:
            if err.error_type != "BucketAlreadyOwnedByYou":
                raise
            ctx.info(f"bucket {self.bucket} exists and is ours already")
            return CreateBucketOutputs(bucket=self.bucket, region=region)
        ctx.info(f"created bucket {self.bucket} in {region}")
        return CreateBucketOutputs(
            bucket=self.bucket, region=region, location=result.get("Location")
        )
