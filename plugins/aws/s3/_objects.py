"""What the S3 tasks and the S3 trigger share: listing, key filters, object items.

`ListFilter` and `regexp` follow Kestra: the regular expression must match the *whole*
key (Java's `String.matches`), DIRECTORY means a key ending in '/', and `maxKeys` caps
the keys listed (before filtering), across as many ListObjectsV2 pages as needed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from sluice.core.plugin import PluginModel, TaskOutputs
from sluice.plugins.aws._connection import AwsConnection

PAGE_SIZE = 1000
"""The most keys ListObjectsV2 returns per page (and DeleteObjects takes per call)."""


class ListFilter(StrEnum):
    """Which keys to keep: files, directory markers (ending in '/'), or both."""

    FILES = "FILES"
    DIRECTORY = "DIRECTORY"
    BOTH = "BOTH"


class S3Object(TaskOutputs):
    """One listed object (Kestra's `S3Object`): `etag` as S3 returns it, quoted."""

    key: str
    etag: str | None = None
    size: int = 0
    last_modified: datetime | None = None
    storage_class: str | None = None
    uri: str | None = None

    @classmethod
    def from_listing(cls, item: dict[str, Any], uri: str | None = None) -> S3Object:
        """Build from one `Contents` entry of ListObjectsV2."""
        return cls(
            key=item["Key"],
            etag=item.get("ETag"),
            size=int(item.get("Size", 0)),
            last_modified=item.get("LastModified"),
            storage_class=item.get("StorageClass"),
            uri=uri,
        )


class KeySelection(PluginModel):
    """Which keys of a bucket a listing keeps: prefix, full-key regexp, filter."""

    prefix: str | None = None
    delimiter: str | None = None
    marker: str | None = None
    regexp: str | None = None
    filter: ListFilter = ListFilter.BOTH
    max_keys: int | None = Field(default=1000, ge=1)
    expected_bucket_owner: str | None = None
    request_payer: str | None = None

    @field_validator("regexp")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"regexp {value!r} is invalid: {err}") from err
        return value

    def keeps(self, key: str) -> bool:
        """Whether `key` passes the regexp (whole key) and the file/directory filter."""
        is_dir = key.endswith("/")
        if self.filter is ListFilter.FILES and is_dir:
            return False
        if self.filter is ListFilter.DIRECTORY and not is_dir:
            return False
        return self.regexp is None or re.fullmatch(self.regexp, key) is not None


@dataclass(frozen=True)
class Page:
    """One ListObjectsV2 page: entries kept, last key listed (kept or not), more?"""

    items: list[dict[str, Any]]
    last_key: str | None
    more: bool
    listed: int


async def list_pages(
    conn: AwsConnection,
    bucket: str,
    selection: KeySelection,
    start_after: str | None = None,
    max_keys: int | None = None,
    first_page: int = PAGE_SIZE,
) -> AsyncGenerator[Page, None]:
    """ListObjectsV2 pages of `bucket`, filtered by `selection`, in key order.

    Stops after `max_keys` keys listed (default: the selection's `maxKeys`; None lists
    everything). `start_after` (else the selection's `marker`) lists keys after it only.
    Pages start at `first_page` keys and grow fourfold up to 1,000: a caller that will
    likely stop early (the trigger, after `maxFiles`) does not list 1,000 keys for 25.
    """
    limit = selection.max_keys if max_keys is None else max_keys
    client = conn.client("s3")
    base: dict[str, Any] = {"Bucket": bucket}
    for name, value in (
        ("Prefix", selection.prefix),
        ("Delimiter", selection.delimiter),
        ("StartAfter", start_after or selection.marker),
        ("ExpectedBucketOwner", selection.expected_bucket_owner),
        ("RequestPayer", selection.request_payer),
    ):
        if value:
            base[name] = value
    listed, token, size = 0, None, max(1, min(first_page, PAGE_SIZE))
    while True:
        want = size if limit is None else min(size, limit - listed)
        size = min(PAGE_SIZE, size * 4)
        kwargs = {**base, "MaxKeys": want}
        if token:
            kwargs["ContinuationToken"] = token
        page = await conn.call(
            f"s3:ListObjectsV2 s3://{bucket}/{selection.prefix or ''}",
            client.list_objects_v2,
            **kwargs,
        )
        contents: list[dict[str, Any]] = page.get("Contents", [])
        listed += len(contents)
        token = page.get("NextContinuationToken")
        more = bool(page.get("IsTruncated") and token)
        yield Page(
            items=[item for item in contents if selection.keeps(item["Key"])],
            last_key=contents[-1]["Key"] if contents else None,
            more=more,
            listed=len(contents),
        )
        if not more or (limit is not None and listed >= limit):
            return


def s3_uri(bucket: str, key: str) -> str:
    """The ``s3://bucket/key`` address of an object."""
    return f"s3://{bucket}/{key}"


def file_name(key: str) -> str:
    """A safe storage file name for an object: its key's last segment, or 'object'."""
    name = key.rsplit("/", 1)[-1]
    if name in {"", ".", ".."} or "\\" in name or "\x00" in name:
        return "object"
    return name
