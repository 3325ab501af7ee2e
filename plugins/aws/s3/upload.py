"""`aws.s3.Upload`: put files from internal storage (or inline text) into S3."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from boto3.s3.transfer import TransferConfig
from pydantic import Field, model_validator

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask

MULTIPART_THRESHOLD = 16 * 1024 * 1024
"""Files up to this size go in one PutObject; larger ones in a multipart upload."""


class UploadedFile(TaskOutputs):
    """One uploaded object."""

    key: str
    e_tag: str | None = None
    version_id: str | None = None
    size: int


class UploadOutputs(TaskOutputs):
    """Kestra's outputs: the object (one file) or `files` by name (several)."""

    bucket: str
    key: str
    e_tag: str | None = None
    version_id: str | None = None
    size: int | None = None
    files: dict[str, UploadedFile] | None = None


@register_task
class Upload(AwsTask):
    """Upload files from internal storage, or inline `content`, to an S3 bucket.

    `from` is one ``storage://`` URI (the object is `key`), a list of URIs (each goes to
    ``key/<file name>``), or a map ``name: URI`` (each goes to ``key/<name>``); a JSON
    string of a list or map works too, as in Kestra. `content` uploads text instead.
    Files above 16 MiB go up in parts.

    Example:
        ```yaml
        id: upload_report
        namespace: company.team
        tasks:
          - id: upload
            type: aws.s3.Upload
            region: us-east-1
            bucket: reports
            key: daily/report.csv
            content: "day,total\\n2025-01-01,42\\n"
            contentType: text/csv
            metadata:
              source: sluice
        ```
    """

    type_name: ClassVar[str] = "aws.s3.Upload"
    bucket: str
    key: str
    from_: str | list[str] | dict[str, str] | None = Field(default=None, alias="from")
    content: str | None = None
    metadata: dict[str, str] | None = None
    cache_control: str | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    expires: datetime | None = None
    acl: str | None = None
    storage_class: str | None = None
    server_side_encryption: str | None = None
    kms_key_id: str | None = None
    bucket_key_enabled: bool | None = None
    checksum_algorithm: str | None = None
    expected_bucket_owner: str | None = None
    request_payer: str | None = None
    tagging: dict[str, str] | None = None
    object_lock_mode: str | None = None
    object_lock_legal_hold_status: str | None = None
    object_lock_retain_until_date: datetime | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Upload:
        if (self.from_ is None) == (self.content is None):
            raise ValueError("give exactly one of `from` or `content`")
        return self

    async def run(self, ctx: RunContext) -> UploadOutputs:
        """Upload each source and report its ETag and version."""
        if self.content is not None:
            data = self.content.encode()
            head = await self._put_bytes(self.key, data)
            return UploadOutputs(bucket=self.bucket, **head.model_dump())
        sources = self.sources()
        if isinstance(sources, str):
            head = await self._put_stored(ctx, self.key, sources)
            return UploadOutputs(bucket=self.bucket, **head.model_dump())
        prefix = self.key.rstrip("/")
        files = {
            name: await self._put_stored(ctx, f"{prefix}/{name}", uri)
            for name, uri in sources.items()
        }
        ctx.info(f"uploaded {len(files)} files to s3://{self.bucket}/{prefix}/")
        return UploadOutputs(bucket=self.bucket, key=self.key, files=files)

    def sources(self) -> str | dict[str, str]:
        """One URI, or object names to URIs (a list's items are named by file name)."""
        value: Any = self.from_
        if isinstance(value, str) and value.strip()[:1] in {"[", "{"}:
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise TaskError(f"`from` is not valid JSON: {err}") from err
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, list):
            named = {str(uri).rstrip("/").rsplit("/", 1)[-1]: str(uri) for uri in value}
            if len(named) != len(value):
                raise TaskError("`from` lists two files with the same name; use a map")
            value = named
        if not isinstance(value, dict) or not value:
            raise TaskError("`from` must be a URI, a list of URIs or a map of them")
        return {str(k): str(v) for k, v in value.items()}

    def extra_args(self) -> dict[str, Any]:
        """PutObject parameters other than bucket, key and body."""
        pairs: dict[str, Any] = {
            "Metadata": self.metadata,
            "CacheControl": self.cache_control,
            "ContentType": self.content_type,
            "ContentEncoding": self.content_encoding,
            "ContentDisposition": self.content_disposition,
            "ContentLanguage": self.content_language,
            "Expires": self.expires,
            "ACL": self.acl,
            "StorageClass": self.storage_class,
            "ServerSideEncryption": self.server_side_encryption,
            "SSEKMSKeyId": self.kms_key_id,
            "BucketKeyEnabled": self.bucket_key_enabled,
            "ChecksumAlgorithm": self.checksum_algorithm,
            "ExpectedBucketOwner": self.expected_bucket_owner,
            "RequestPayer": self.request_payer,
            "Tagging": urlencode(self.tagging) if self.tagging else None,
            "ObjectLockMode": self.object_lock_mode,
            "ObjectLockLegalHoldStatus": self.object_lock_legal_hold_status,
            "ObjectLockRetainUntilDate": self.object_lock_retain_until_date,
        }
        return {name: value for name, value in pairs.items() if value is not None}

    async def _put_bytes(self, key: str, data: bytes) -> UploadedFile:
        s3 = self.client("s3")
        result = await self.call(
            f"s3:PutObject s3://{self.bucket}/{key}",
            s3.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            **self.extra_args(),
        )
        return UploadedFile(
            key=key,
            e_tag=result.get("ETag"),
            version_id=result.get("VersionId"),
            size=len(data),
        )

    async def _put_stored(self, ctx: RunContext, key: str, uri: str) -> UploadedFile:
        size = await asyncio.to_thread(ctx.storage.size, uri)
        if size <= MULTIPART_THRESHOLD:
            data = await asyncio.to_thread(ctx.storage.get_bytes, uri)
            return await self._put_bytes(key, data)
        s3 = self.client("s3")
        where = f"s3://{self.bucket}/{key}"
        fd, tmp = tempfile.mkstemp(prefix="sluice-upload-")
        os.close(fd)
        try:
            await asyncio.to_thread(ctx.storage.get_to_file, uri, tmp)
            config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD)
            await self.call(
                f"s3:UploadFile (multipart) {where}",
                s3.upload_file,
                Filename=tmp,
                Bucket=self.bucket,
                Key=key,
                ExtraArgs=self.extra_args(),
                Config=config,
            )
        finally:
            os.unlink(tmp)
        head = await self.call(
            f"s3:HeadObject {where}", s3.head_object, Bucket=self.bucket, Key=key
        )
        return UploadedFile(
            key=key, e_tag=head.get("ETag"), version_id=head.get("VersionId"), size=size
        )
