"""Internal storage in an S3 bucket: ``storage://a/b`` is the object ``<prefix>a/b``.

The same URIs and path rules as the local backend (`sluice.storage.paths`), so flows and
stored outputs do not change when storage moves to S3. It lives with the AWS plugin
because it needs boto3 (storage/ imports only core). Calls are synchronous, like the
`Storage` port: callers on the event loop run them in a thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from boto3.s3.transfer import TransferConfig

from sluice.core.errors import StorageError, TaskError
from sluice.plugins.aws._connection import AwsConnection, aws_errors
from sluice.storage.paths import check_path, to_path, to_uri

_MISSING = {"NoSuchKey", "404", "NotFound"}
_TRANSFER = TransferConfig(multipart_threshold=16 * 1024 * 1024)


class S3Storage:
    """Stored files as objects of one bucket, under an optional key prefix.

    Args:
        bucket: the bucket (it must exist).
        prefix: put before every path, e.g. ``"sluice/"`` ('/' is added if missing).
        connection: AWS connection properties (camelCase, as tasks take them) or an
            `AwsConnection`.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        connection: AwsConnection | Mapping[str, Any] | None = None,
    ) -> None:
        if connection is None or isinstance(connection, Mapping):
            connection = AwsConnection.model_validate(dict(connection or {}))
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.connection = connection

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def put_bytes(self, path: str, data: bytes) -> str:
        """Store `data` under `path` (relative, '/'-separated); return its URI."""
        key = self._key(path)
        with self._errors(f"s3:PutObject {key}"):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return to_uri(path)

    def put_file(self, path: str, source: str) -> str:
        """Upload the local file `source` under `path` (in parts when large)."""
        key = self._key(path)
        with self._errors(f"s3:UploadFile {key}"):
            self._s3.upload_file(source, self.bucket, key, Config=_TRANSFER)
        return to_uri(path)

    def get_bytes(self, uri: str) -> bytes:
        """Read a stored file; `StorageError` if it is missing."""
        key = self._key(to_path(uri))
        with self._errors(f"s3:GetObject {key}", uri):
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            return bytes(body.read())

    def get_to_file(self, uri: str, dest: str) -> None:
        """Download a stored file to the local path `dest`."""
        key = self._key(to_path(uri))
        with self._errors(f"s3:DownloadFile {key}", uri):
            self._s3.download_file(self.bucket, key, dest, Config=_TRANSFER)

    def size(self, uri: str) -> int:
        """Size in bytes of a stored file."""
        key = self._key(to_path(uri))
        with self._errors(f"s3:HeadObject {key}", uri):
            return int(
                self._s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
            )

    def exists(self, uri: str) -> bool:
        """Whether a stored file exists."""
        try:
            self.size(uri)
        except StorageError as err:
            if "does not exist" in str(err):
                return False
            raise
        return True

    def delete(self, uri: str) -> bool:
        """Delete a stored file; return whether it existed."""
        existed = self.exists(uri)
        key = self._key(to_path(uri))
        with self._errors(f"s3:DeleteObject {key}"):
            self._s3.delete_object(Bucket=self.bucket, Key=key)
        return existed

    def list(self, prefix: str = "") -> list[str]:
        """URIs of the files under the folder `prefix` (all when empty), sorted."""
        folder = self._key(prefix.rstrip("/")) + "/" if prefix else self.prefix
        uris: list[str] = []
        with self._errors(f"s3:ListObjectsV2 {folder}"):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=folder
            )
            for page in pages:
                for item in page.get("Contents", []):
                    uris.append(to_uri(item["Key"][len(self.prefix) :]))
        return sorted(uris)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every file under the folder `prefix`; return how many there were."""
        uris = self.list(prefix)
        for start in range(0, len(uris), 1000):
            batch = [{"Key": self._key(to_path(u))} for u in uris[start : start + 1000]]
            with self._errors(f"s3:DeleteObjects {prefix}"):
                self._s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
        return len(uris)

    @property
    def _s3(self) -> Any:
        return self.connection.client("s3")

    def _key(self, path: str) -> str:
        return self.prefix + check_path(path)

    @contextmanager
    def _errors(self, what: str, uri: str | None = None) -> Iterator[None]:
        """AWS failures as `StorageError`; a missing object says it does not exist."""
        try:
            with aws_errors(what):
                yield
        except TaskError as err:
            if uri is not None and err.error_type in _MISSING:
                raise StorageError(f"{uri} does not exist in internal storage") from err
            raise StorageError(f"internal storage (s3://{self.bucket}): {err}") from err
