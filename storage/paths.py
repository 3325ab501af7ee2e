"""Internal storage addresses: ``storage://<path>`` URIs and the paths inside them.

A path is relative and '/'-separated (``company/team/flow/exec/task/run/out.csv``).
Every backend checks paths here, once, so a path can never leave the storage root:
absolute paths, ``..`` and ``.`` segments, empty segments, backslashes and NUL bytes
are refused.
Kestra's ``kestra:///`` URIs are read as ``storage://`` ones, so a migrated flow's
stored URIs keep working.
"""

from __future__ import annotations

from sluice.core.errors import StorageError

SCHEME = "storage://"
"""The scheme of every internal storage URI."""

_ACCEPTED_SCHEMES = (SCHEME, "kestra://")


def is_storage_uri(value: str) -> bool:
    """Whether `value` is an internal storage URI (``storage://`` or ``kestra://``)."""
    return value.startswith(_ACCEPTED_SCHEMES)


def check_path(path: str) -> str:
    """Return `path` if it is a safe relative storage path.

    Raises:
        StorageError: the path is empty, absolute, or has ``..``, ``.``, empty
            segments, backslashes or NUL bytes.
    """
    if not path:
        raise StorageError("storage path is empty")
    if "\\" in path or "\x00" in path:
        raise StorageError(f"storage path {path!r} has a backslash or a NUL byte")
    if path.startswith("/"):
        raise StorageError(f"storage path {path!r} is absolute; give a relative path")
    for segment in path.split("/"):
        if segment in {"", ".", ".."}:
            raise StorageError(
                f"storage path {path!r} has an empty, '.' or '..' segment: refused"
            )
    return path


def to_uri(path: str) -> str:
    """The ``storage://`` URI of a (checked) relative path."""
    return SCHEME + check_path(path)


def to_path(uri: str) -> str:
    """The relative path inside a ``storage://`` (or ``kestra:///``) URI.

    Raises:
        StorageError: not a storage URI, or its path is unsafe.
    """
    for scheme in _ACCEPTED_SCHEMES:
        if uri.startswith(scheme):
            # Kestra writes three slashes (`kestra:///a/b`): both forms mean a/b.
            return check_path(uri[len(scheme) :].lstrip("/"))
    raise StorageError(f"{uri!r} is not an internal storage URI (storage://…)")
