"""What every internal storage backend must do; each backend's tests subclass this.

Subclasses provide a `storage` fixture (an empty store).
"""

from __future__ import annotations

import pytest

from sluice.core.errors import StorageError


class StorageContract:
    def test_put_bytes_returns_storage_uri_that_reads_back(self, storage):
        uri = storage.put_bytes("ns/flow/exec/task/run/out.csv", b"a,b\n1,2\n")

        assert uri == "storage://ns/flow/exec/task/run/out.csv"
        assert storage.get_bytes(uri) == b"a,b\n1,2\n"
        assert storage.size(uri) == 8
        assert storage.exists(uri)

    def test_put_bytes_replaces_existing_file(self, storage):
        storage.put_bytes("a/b.txt", b"old")

        uri = storage.put_bytes("a/b.txt", b"new")

        assert storage.get_bytes(uri) == b"new"
        assert storage.list("a") == ["storage://a/b.txt"]

    def test_put_file_and_get_to_file_copy_local_files(self, storage, tmp_path):
        source = tmp_path / "in.bin"
        source.write_bytes(bytes(range(256)) * 4)

        uri = storage.put_file("x/in.bin", str(source))
        storage.get_to_file(uri, str(tmp_path / "out.bin"))

        assert (tmp_path / "out.bin").read_bytes() == bytes(range(256)) * 4

    @pytest.mark.parametrize(
        "path",
        [
            "../escape",
            "a/../../escape",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\b",
            "",
            "a/..",
        ],
    )
    def test_put_bytes_refuses_paths_that_leave_the_root(self, storage, path):
        with pytest.raises(StorageError):
            storage.put_bytes(path, b"x")

        assert storage.list() == []

    def test_get_bytes_refuses_traversal_in_uri(self, storage):
        with pytest.raises(StorageError, match=r"'\.\.'"):
            storage.get_bytes("storage://../secret.txt")

    def test_get_bytes_raises_storage_error_when_missing(self, storage):
        with pytest.raises(StorageError, match="does not exist"):
            storage.get_bytes("storage://nope/file.txt")
        with pytest.raises(StorageError, match="does not exist"):
            storage.size("storage://nope/file.txt")
        assert not storage.exists("storage://nope/file.txt")

    def test_get_to_file_raises_storage_error_when_missing(self, storage, tmp_path):
        with pytest.raises(StorageError, match="does not exist"):
            storage.get_to_file("storage://nope", str(tmp_path / "out"))

    def test_get_bytes_refuses_uri_of_another_scheme(self, storage):
        with pytest.raises(StorageError, match="not an internal storage URI"):
            storage.get_bytes("s3://bucket/key")

    def test_get_bytes_reads_kestra_style_uri(self, storage):
        storage.put_bytes("ns/f/file.txt", b"k")

        assert storage.get_bytes("kestra:///ns/f/file.txt") == b"k"
        assert storage.get_bytes("storage:///ns/f/file.txt") == b"k"

    def test_list_and_delete_prefix_cover_one_execution(self, storage):
        storage.put_bytes("ns/f/e1/t/r/a.txt", b"1")
        storage.put_bytes("ns/f/e1/t/r/b.txt", b"2")
        storage.put_bytes("ns/f/e10/t/r/a.txt", b"3")

        assert storage.list("ns/f/e1") == [
            "storage://ns/f/e1/t/r/a.txt",
            "storage://ns/f/e1/t/r/b.txt",
        ]
        assert storage.delete_prefix("ns/f/e1") == 2
        assert storage.list() == ["storage://ns/f/e10/t/r/a.txt"]
        assert storage.delete("storage://ns/f/e10/t/r/a.txt")
        assert not storage.delete("storage://ns/f/e10/t/r/a.txt")
