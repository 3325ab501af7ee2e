"""Internal storage on the local disk: ``storage://a/b`` is the file ``<root>/a/b``.

Writes go to a temporary file in the destination folder and are renamed into place, so a
reader never sees half a file and a crash leaves either the old content or the new.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sluice.core.errors import StorageError
from sluice.storage.paths import check_path, to_path, to_uri


class LocalStorage:
    """Files under one root folder, addressed by ``storage://<relative path>`` URIs.

    Args:
        root_dir: the folder that holds every stored file (created if missing).
    """

    def __init__(self, root_dir: str | os.PathLike[str]) -> None:
        self.root = Path(root_dir).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def put_bytes(self, path: str, data: bytes) -> str:
        """Store `data` under `path` (relative, '/'-separated); return its URI."""
        with self._atomic_target(path) as tmp:
            tmp.write_bytes(data)
        return to_uri(path)

    def put_file(self, path: str, source: str) -> str:
        """Copy the local file `source` into storage under `path`; return its URI."""
        with self._atomic_target(path) as tmp:
            try:
                shutil.copyfile(source, tmp)
            except OSError as err:
                msg = f"cannot copy {source!r} into storage: {err}"
                raise StorageError(msg) from err
        return to_uri(path)

    def get_bytes(self, uri: str) -> bytes:
        """Read a stored file; `StorageError` if it is missing."""
        file = self._existing(uri)
        try:
            return file.read_bytes()
        except OSError as err:
            raise StorageError(f"cannot read {uri}: {err}") from err

    def get_to_file(self, uri: str, dest: str) -> None:
        """Copy a stored file to the local path `dest`."""
        file = self._existing(uri)
        try:
            shutil.copyfile(file, dest)
        except OSError as err:
            raise StorageError(f"cannot copy {uri} to {dest!r}: {err}") from err

    def size(self, uri: str) -> int:
        """Size in bytes of a stored file."""
        return self._existing(uri).stat().st_size

    def exists(self, uri: str) -> bool:
        """Whether a stored file exists."""
        return self._file(to_path(uri)).is_file()

    def delete(self, uri: str) -> bool:
        """Delete a stored file; return whether it existed."""
        file = self._file(to_path(uri))
        try:
            file.unlink()
        except FileNotFoundError:
            return False
        except OSError as err:
            raise StorageError(f"cannot delete {uri}: {err}") from err
        return True

    def delete_prefix(self, prefix: str) -> int:
        """Delete every file under the folder `prefix`; return how many there were."""
        folder = self._file(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder)
        return count

    def list(self, prefix: str = "") -> list[str]:
        """URIs of the files under the folder `prefix` (all when empty), sorted."""
        base = self._file(prefix.rstrip("/")) if prefix else self.root
        if not base.is_dir():
            return []
        return sorted(
            to_uri(p.relative_to(self.root).as_posix())
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def _file(self, path: str) -> Path:
        file = (self.root / check_path(path)).resolve()
        # The segment check stops `..`; this stops a symlink in the root pointing out.
        if not file.is_relative_to(self.root):
            raise StorageError(f"storage path {path!r} leaves the storage root")
        return file

    def _existing(self, uri: str) -> Path:
        file = self._file(to_path(uri))
        if not file.is_file():
            raise StorageError(f"{uri} does not exist in internal storage")
        return file

    @contextmanager
    def _atomic_target(self, path: str) -> Iterator[Path]:
        target = self._file(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        except OSError as err:
            raise StorageError(f"cannot write {path!r}: {err}") from err
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
