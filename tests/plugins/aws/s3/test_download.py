import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.s3.download import Download


async def test_download_stores_object_and_reports_metadata(s3, conn, bucket, ctx):
    s3.put_object(
        Bucket=bucket,
        Key="in/report.csv",
        Body=b"a,b\n",
        ContentType="text/csv",
        Metadata={"owner": "etl"},
    )
    task = Download.model_validate({**conn, "bucket": bucket, "key": "in/report.csv"})

    outputs = await task.run(ctx)

    assert outputs.uri == "storage://company/team/flow1/exec1/task1/run1/report.csv"
    assert ctx.storage.get_bytes(outputs.uri) == b"a,b\n"
    assert outputs.content_length == 4
    assert outputs.content_type == "text/csv"
    assert outputs.metadata == {"owner": "etl"}
    assert outputs.e_tag == s3.head_object(Bucket=bucket, Key="in/report.csv")["ETag"]


async def test_download_reads_requested_version(s3, conn, bucket, ctx):
    s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    task = Download.model_validate(
        {**conn, "bucket": bucket, "key": "k", "versionId": first}
    )

    outputs = await task.run(ctx)

    assert ctx.storage.get_bytes(outputs.uri) == b"v1"
    assert outputs.version_id == first


async def test_download_of_directory_key_gets_safe_file_name(s3, conn, bucket, ctx):
    s3.put_object(Bucket=bucket, Key="dir/", Body=b"")
    task = Download.model_validate({**conn, "bucket": bucket, "key": "dir/"})

    outputs = await task.run(ctx)

    assert outputs.uri.endswith("/object")


async def test_download_missing_key_fails_not_retryable(conn, bucket, ctx):
    task = Download.model_validate({**conn, "bucket": bucket, "key": "missing"})

    with pytest.raises(
        TaskError, match=f"s3:GetObject s3://{bucket}/missing failed: NoSuchKey"
    ) as info:
        await task.run(ctx)

    assert not info.value.retryable
    assert ctx.storage.list() == []
