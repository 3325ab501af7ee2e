"""`aws.s3.DeleteList`: delete every object that a listing keeps, 1,000 per request."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.s3._objects import KeySelection, list_pages


class DeleteListOutputs(TaskOutputs):
    """How many objects were deleted, and their total size in bytes."""

    count: int
    size: int


@register_task
class DeleteList(AwsTask, KeySelection):
    """Delete the objects under `prefix` that match `regexp` and `filter`.

    Each listed page (up to 1,000 keys) is deleted with one DeleteObjects request
    before the next page is listed, so memory stays flat however many objects match.
    Unlike `List`, `maxKeys` is unset by default: everything that matches is deleted.
    A key that S3 refuses to delete fails the task, naming the key and the reason.

    Example:
        ```yaml
        id: purge_tmp
        namespace: company.team
        tasks:
          - id: purge
            type: aws.s3.DeleteList
            region: us-east-1
            bucket: landing
            prefix: tmp/
            regexp: "tmp/.*\\\\.part"
        ```
    """

    type_name: ClassVar[str] = "aws.s3.DeleteList"
    bucket: str
    max_keys: int | None = Field(default=None, ge=1)
    error_on_empty: bool = False

    async def run(self, ctx: RunContext) -> DeleteListOutputs:
        """List page by page and delete each page's matching keys."""
        s3 = self.client("s3")
        count = size = 0
        async for page in list_pages(self, self.bucket, self):
            items = page.items
            if not items:
                continue
            kwargs: dict[str, Any] = {
                "Bucket": self.bucket,
                "Delete": {
                    "Objects": [{"Key": o["Key"]} for o in items],
                    "Quiet": True,
                },
            }
            if self.request_payer:
                kwargs["RequestPayer"] = self.request_payer
            if self.expected_bucket_owner:
                kwargs["ExpectedBucketOwner"] = self.expected_bucket_owner
            result = await self.call(
                f"s3:DeleteObjects s3://{self.bucket} ({len(items)} keys)",
                s3.delete_objects,
                **kwargs,
            )
            if errors := result.get("Errors"):
                first = errors[0]
                raise TaskError(
                    f"s3:DeleteObjects refused {len(errors)} keys, first "
                    f"{first.get('Key')}: {first.get('Code')}: {first.get('Message')}",
                    error_type=str(first.get("Code", "DeleteObjectsError")),
                )
            count += len(items)
            size += sum(int(o.get("Size", 0)) for o in items)
        if count == 0 and self.error_on_empty:
            raise TaskError(f"no object in s3://{self.bucket} matches; nothing deleted")
        ctx.info(f"deleted {count} objects ({size} B) from s3://{self.bucket}")
        return DeleteListOutputs(count=count, size=size)
