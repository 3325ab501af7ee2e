"""`aws.s3.Download`: copy one S3 object into internal storage."""

from __future__ import annotations

import os
import tempfile
from typing import Any, ClassVar

from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.ports import Storage
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsConnection, AwsTask
from sluice.plugins.aws.s3._objects import file_name

CHUNK = 1024 * 1024


class DownloadOutputs(TaskOutputs):
    """Kestra's outputs: where the file is now, and what S3 said about it."""

    uri: str
    content_length: int
    content_type: str | None = None
    e_tag: str | None = None
    version_id: str | None = None
    metadata: dict[str, str] = {}


@register_task
class Download(AwsTask):
    """Download one S3 object to internal storage; `uri` is where it lands.

    The body is streamed to a temporary file (never held in memory), then stored under
    the task run's storage folder with the key's file name.

    Example:
        ```yaml
        id: download_report
        namespace: company.team
        tasks:
          - id: download
            type: aws.s3.Download
            region: us-east-1
            bucket: reports
            key: daily/report.csv
          - id: show
            type: core.Log
            message: "{{ read(outputs.download.uri) }}"
        ```
    """

    type_name: ClassVar[str] = "aws.s3.Download"
    bucket: str
    key: str
    version_id: str | None = None
    request_payer: str | None = None
    expected_bucket_owner: str | None = None

    async def run(self, ctx: RunContext) -> DownloadOutputs:
        """Fetch the object and store it."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        for name, value in (
            ("VersionId", self.version_id),
            ("RequestPayer", self.request_payer),
            ("ExpectedBucketOwner", self.expected_bucket_owner),
        ):
            if value:
                kwargs[name] = value
        path = ctx.storage_path(file_name(self.key))
        outputs = await download_object(self, ctx.storage, path, kwargs)
        ctx.info(
            f"downloaded s3://{self.bucket}/{self.key} ({outputs.content_length} B)"
        )
        return outputs


async def download_object(
    conn: AwsConnection, storage: Storage, path: str, get_kwargs: dict[str, Any]
) -> DownloadOutputs:
    """GetObject streamed into storage at `path` (the S3 trigger uses it too)."""
    s3 = conn.client("s3")

    def fetch() -> DownloadOutputs:
        # One thread does the request, the streaming and the storage write.
        response = s3.get_object(**get_kwargs)
        fd, tmp = tempfile.mkstemp(prefix="sluice-download-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response["Body"].iter_chunks(CHUNK):
                    out.write(chunk)
            uri = storage.put_file(path, tmp)
        finally:
            os.unlink(tmp)
        return DownloadOutputs(
            uri=uri,
            content_length=int(response.get("ContentLength", 0)),
            content_type=response.get("ContentType"),
            e_tag=response.get("ETag"),
            version_id=response.get("VersionId"),
            metadata=response.get("Metadata", {}),
        )

    where = f"s3://{get_kwargs['Bucket']}/{get_kwargs['Key']}"
    return await conn.call(f"s3:GetObject {where}", fetch)
