import os

import pytest

from sluice.core.errors import StorageError
from sluice.storage import LocalStorage, open_storage, to_path, to_uri


def test_put_bytes_returns_storage_uri_that_reads_back(tmp_path):
    storage = LocalStorage(tmp_path)

    uri = storage.put_bytes("ns/flow/exec/task/run/out.csv", b"a,b\n1,2\n")

    assert uri == "storage://ns/flow/exec/task/run/out.csv"
    assert storage.get_bytes(uri) == b"a,b\n1,2\n"
    assert storage.size(uri) == 8
    assert storage.exists(uri)
    assert (tmp_path / "ns/flow/exec/task/run/out.csv").read_bytes() == b"a,b\n1,2\n"


def test_put_bytes_replaces_existing_file_and_leaves_no_temporary(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.put_bytes("a/b.txt", b"old")

    uri = storage.put_bytes("a/b.txt", b"new")

    assert storage.get_bytes(uri) == b"new"
    assert sorted(os.listdir(tmp_path / "a")) == ["b.txt"]


def test_put_file_and_get_to_file_copy_local_files(tmp_path):
    storage = LocalStorage(tmp_path / "root")
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)))

    uri = storage.put_file("x/in.bin", str(source))
    storage.get_to_file(uri, str(tmp_path / "out.bin"))

    assert (tmp_path / "out.bin").read_bytes() == bytes(range(256))


@pytest.mark.parametrize(
    "path",
    ["../escape", "a/../../escape", "/etc/passwd", "a//b", "a/./b", "a\\b", "", "a/.."],
)
def test_put_bytes_refuses_paths_that_leave_the_root(tmp_path, path):
    storage = LocalStorage(tmp_path / "root")

    with pytest.raises(StorageError):
        storage.put_bytes(path, b"x")

    assert not (tmp_path / "escape").exists()


def test_get_bytes_refuses_traversal_in_uri(tmp_path):
    (tmp_path / "secret.txt").write_text("top secret")
    storage = LocalStorage(tmp_path / "root")

    with pytest.raises(StorageError, match=r"'\.\.'"):
        storage.get_bytes("storage://../secret.txt")


def test_get_bytes_refuses_symlink_leaving_root(tmp_path):
    (tmp_path / "secret.txt").write_text("top secret")
    storage = LocalStorage(tmp_path / "root")
    (tmp_path / "root" / "link").symlink_to(tmp_path)

    with pytest.raises(StorageError, match="leaves the storage root"):
        storage.get_bytes("storage://link/secret.txt")


def test_get_bytes_raises_storage_error_when_missing(tmp_path):
    storage = LocalStorage(tmp_path)

    with pytest.raises(StorageError, match="does not exist"):
        storage.get_bytes("storage://nope/file.txt")
    assert not storage.exists("storage://nope/file.txt")


def test_get_bytes_refuses_uri_of_another_scheme(tmp_path):
    storage = LocalStorage(tmp_path)

    with pytest.raises(StorageError, match="not an internal storage URI"):
        storage.get_bytes("s3://bucket/key")


def test_get_bytes_reads_kestra_style_uri(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.put_bytes("ns/f/file.txt", b"k")

    assert storage.get_bytes("kestra:///ns/f/file.txt") == b"k"
    assert storage.get_bytes("storage:///ns/f/file.txt") == b"k"


def test_list_and_delete_prefix_cover_one_execution(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.put_bytes("ns/f/e1/t/r/a.txt", b"1")
    storage.put_bytes("ns/f/e1/t/r/b.txt", b"2")
    storage.put_bytes("ns/f/e2/t/r/a.txt", b"3")

    assert storage.list("ns/f/e1") == [
        "storage://ns/f/e1/t/r/a.txt",
        "storage://ns/f/e1/t/r/b.txt",
    ]
    assert storage.delete_prefix("ns/f/e1") == 2
    assert storage.list() == ["storage://ns/f/e2/t/r/a.txt"]
    assert storage.delete("storage://ns/f/e2/t/r/a.txt")
    assert not storage.delete("storage://ns/f/e2/t/r/a.txt")


def test_open_storage_puts_files_under_data_dir_storage(data_dir):
    storage = open_storage(data_dir)

    uri = storage.put_bytes("ns/a.txt", b"x")

    assert os.path.isfile(os.path.join(data_dir, "storage", "ns", "a.txt"))
    assert storage.get_bytes(uri) == b"x"


def test_uri_helpers_round_trip():
    assert to_path(to_uri("a/b c/d.txt")) == "a/b c/d.txt"
