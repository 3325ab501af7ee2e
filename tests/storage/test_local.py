import os

import pytest

from sluice.core.errors import StorageError
from sluice.storage import LocalStorage, open_storage, to_path, to_uri
from tests.storage.contract import StorageContract


class TestLocalStorage(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path):
        return LocalStorage(tmp_path / "root")


def test_put_bytes_writes_under_root_and_leaves_no_temporary(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.put_bytes("a/b.txt", b"old")

    storage.put_bytes("a/b.txt", b"new")

    assert (tmp_path / "a" / "b.txt").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path / "a")) == ["b.txt"]


def test_get_bytes_refuses_symlink_leaving_root(tmp_path):
    (tmp_path / "secret.txt").write_text("top secret")
    storage = LocalStorage(tmp_path / "root")
    (tmp_path / "root" / "link").symlink_to(tmp_path)

    with pytest.raises(StorageError, match="leaves the storage root"):
        storage.get_bytes("storage://link/secret.txt")


def test_open_storage_puts_files_under_data_dir_storage(data_dir):
    storage = open_storage(data_dir)

    uri = storage.put_bytes("ns/a.txt", b"x")

    assert os.path.isfile(os.path.join(data_dir, "storage", "ns", "a.txt"))
    assert storage.get_bytes(uri) == b"x"


def test_uri_helpers_round_trip():
    assert to_path(to_uri("a/b c/d.txt")) == "a/b c/d.txt"
