"""`aws.s3.List`: list the objects of a bucket, filtered by prefix, regexp and kind."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws.s3._objects import KeySelection, S3Object, list_pages, s3_uri


class ListOutputs(TaskOutputs):
    """The objects kept, in key order (`uri` is ``s3://bucket/key``)."""

    objects: list[S3Object]


@register_task
class List(AwsTask, KeySelection):
    """List a bucket's objects across all pages, keeping those that match.

    As in Kestra: `maxKeys` (default 1000) caps the keys listed before filtering,
    `regexp` must match the whole key, `filter` keeps FILES, DIRECTORY (keys ending in
    '/') or BOTH, and `maxFiles` (default 25) truncates the result, with a warning, so
    that a huge listing does not end up in the execution's outputs.

    Example:
        ```yaml
        id: list_csv
        namespace: company.team
        tasks:
          - id: list
            type: aws.s3.List
            region: us-east-1
            bucket: landing
            prefix: sales/2025/
            regexp: "sales/2025/.*\\\\.csv"
            filter: FILES
        ```
    """

    type_name: ClassVar[str] = "aws.s3.List"
    bucket: str
    max_files: int | None = Field(default=25, ge=1)

    async def run(self, ctx: RunContext) -> ListOutputs:
        """List every page (up to `maxKeys`) and keep the matching objects."""
        objects: list[S3Object] = []
        async for page in list_pages(self, self.bucket, self):
            objects.extend(
                S3Object.from_listing(item, s3_uri(self.bucket, item["Key"]))
                for item in page.items
            )
        if self.max_files is not None and len(objects) > self.max_files:
            ctx.warning(
                f"{len(objects)} objects match; keeping the first {self.max_files} "
                "(raise maxFiles to keep more)"
            )
            objects = objects[: self.max_files]
        ctx.info(f"listed {len(objects)} objects in s3://{self.bucket}")
        return ListOutputs(objects=objects)
