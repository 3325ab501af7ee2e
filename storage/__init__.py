"""Internal storage and secrets: where task files live and where `secret()` looks.

`open_storage(data_dir)` gives the local backend under ``<data_dir>/storage``; the S3
backend needs boto3 and lives with the AWS plugin
(`sluice.plugins.aws.s3.storage_backend`). This package imports only `sluice.core`.
"""

from __future__ import annotations

import os

from sluice.core.ports import Storage
from sluice.storage.local import LocalStorage
from sluice.storage.paths import SCHEME, is_storage_uri, to_path, to_uri
from sluice.storage.secrets import ChainSecretProvider, EnvSecretProvider


def open_storage(data_dir: str | os.PathLike[str]) -> Storage:
    """The local internal storage of a data directory, under ``<data_dir>/storage``."""
    return LocalStorage(os.path.join(data_dir, "storage"))


__all__ = [
    "SCHEME",
    "ChainSecretProvider",
    "EnvSecretProvider",
    "LocalStorage",
    "is_storage_uri",
    "open_storage",
    "to_path",
    "to_uri",
]
