import pytest

from sluice.plugins.aws.s3.storage_backend import S3Storage
from tests.storage.contract import StorageContract


class TestS3Storage(StorageContract):
    @pytest.fixture
    def storage(self, bucket, conn):
        return S3Storage(bucket, prefix="sluice", connection=conn)


def test_s3_storage_keeps_files_under_prefix(s3, bucket, conn):
    storage = S3Storage(bucket, prefix="/sluice/prod/", connection=conn)

    storage.put_bytes("ns/a.txt", b"x")

    assert (
        s3.get_object(Bucket=bucket, Key="sluice/prod/ns/a.txt")["Body"].read() == b"x"
    )
