"""`aws.s3.Copy` and `aws.s3.Move`: copy an object, and delete the source to move it."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from sluice.core.plugin import PluginModel, RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsConnection, AwsTask


class CopySource(PluginModel):
    """The object to copy (a given version, or the current one)."""

    bucket: str
    key: str
    version_id: str | None = None


class CopyDestination(PluginModel):
    """Where to copy it; a missing bucket or key means the source's."""

    bucket: str | None = None
    key: str | None = None
    server_side_encryption: str | None = None
    kms_key_id: str | None = None


class CopyOutputs(TaskOutputs):
    """Kestra's outputs: the destination object."""

    bucket: str
    key: str
    e_tag: str | None = None
    version_id: str | None = None


@register_task
class Copy(AwsTask):
    """Copy an object within or across buckets (any size: multipart when large).

    With `delete: true` the source is deleted after the copy succeeded (a move).

    Example:
        ```yaml
        id: archive_report
        namespace: company.team
        tasks:
          - id: copy
            type: aws.s3.Copy
            region: us-east-1
            from:
              bucket: landing
              key: in/report.csv
            to:
              bucket: archive
              key: 2025/report.csv
        ```
    """

    type_name: ClassVar[str] = "aws.s3.Copy"
    from_: CopySource = Field(alias="from")
    to: CopyDestination = CopyDestination()
    delete: bool = False

    @model_validator(mode="after")
    def _not_onto_itself(self) -> Copy:
        same_bucket = self.to.bucket in {None, self.from_.bucket}
        if same_bucket and self.to.key in {None, self.from_.key}:
            raise ValueError(
                "`to` is the source object itself: give another key or bucket"
            )
        return self

    async def run(self, ctx: RunContext) -> CopyOutputs:
        """Copy, then delete the source when asked."""
        to_bucket = self.to.bucket or self.from_.bucket
        to_key = self.to.key or self.from_.key
        outputs = await copy_object(
            self, self.from_, to_bucket, to_key, self._extra_args()
        )
        if self.delete:
            await delete_source(self, self.from_)
        verb = "moved" if self.delete else "copied"
        ctx.info(
            f"{verb} s3://{self.from_.bucket}/{self.from_.key} "
            f"to s3://{to_bucket}/{to_key}"
        )
        return outputs

    def _extra_args(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.to.server_side_encryption:
            extra["ServerSideEncryption"] = self.to.server_side_encryption
        if self.to.kms_key_id:
            extra["SSEKMSKeyId"] = self.to.kms_key_id
        return extra


@register_task
class Move(Copy):
    """Move an object: copy it, then delete the source (sluice's name for Copy+delete).

    Example:
        ```yaml
        id: file_report
        namespace: company.team
        tasks:
          - id: move
            type: aws.s3.Move
            region: us-east-1
            from:
              bucket: landing
              key: in/report.csv
            to:
              key: done/report.csv
        ```
    """

    type_name: ClassVar[str] = "aws.s3.Move"
    delete: bool = True


async def copy_object(
    conn: AwsConnection,
    source: CopySource,
    bucket: str,
    key: str,
    extra_args: dict[str, Any] | None = None,
) -> CopyOutputs:
    """Managed (multipart when large) copy, then the new object's ETag and version."""
    s3 = conn.client("s3")
    copy_source: dict[str, str] = {"Bucket": source.bucket, "Key": source.key}
    if source.version_id:
        copy_source["VersionId"] = source.version_id
    where = f"s3://{source.bucket}/{source.key} to s3://{bucket}/{key}"
    await conn.call(
        f"s3:CopyObject {where}",
        s3.copy,
        CopySource=copy_source,
        Bucket=bucket,
        Key=key,
        ExtraArgs=extra_args or None,
    )
    head = await conn.call(
        f"s3:HeadObject s3://{bucket}/{key}", s3.head_object, Bucket=bucket, Key=key
    )
    return CopyOutputs(
        bucket=bucket, key=key, e_tag=head.get("ETag"), version_id=head.get("VersionId")
    )


async def delete_source(conn: AwsConnection, source: CopySource) -> None:
    """Delete the source object (the version copied, when one was given)."""
    s3 = conn.client("s3")
    kwargs: dict[str, str] = {"Bucket": source.bucket, "Key": source.key}
    if source.version_id:
        kwargs["VersionId"] = source.version_id
    await conn.call(
        f"s3:DeleteObject s3://{source.bucket}/{source.key}", s3.delete_object, **kwargs
    )
