import json
import re

import pytest
from pydantic import ValidationError

from sluice.core.errors import TaskError
from sluice.core.plugin import split_outputs
from sluice.plugins.aws.s3 import upload as upload_module
from sluice.plugins.aws.s3.upload import Upload


async def test_upload_puts_stored_file_and_reports_etag_and_size(s3, conn, bucket, ctx):
    uri = ctx.storage.put_bytes(ctx.storage_path("in.csv"), b"a,b\n1,2\n")
    task = Upload.model_validate(
        {
            **conn,
            "bucket": bucket,
            "key": "data/in.csv",
            "from": uri,
            "contentType": "text/csv",
            "metadata": {"team": "etl"},
        }
    )

    outputs = await task.run(ctx)

    stored = s3.get_object(Bucket=bucket, Key="data/in.csv")
    assert stored["Body"].read() == b"a,b\n1,2\n"
    assert stored["ContentType"] == "text/csv"
    assert stored["Metadata"] == {"team": "etl"}
    public, _ = split_outputs(outputs)
    assert public["bucket"] == bucket
    assert public["key"] == "data/in.csv"
    assert public["eTag"] == stored["ETag"]
    assert public["size"] == 8


async def test_upload_puts_inline_content(s3, conn, bucket, ctx):
    task = Upload.model_validate(
        {**conn, "bucket": bucket, "key": "hello.txt", "content": "héllo"}
    )

    await task.run(ctx)

    assert (
        s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == "héllo".encode()
    )


async def test_upload_reports_version_id_when_bucket_is_versioned(
    s3, conn, bucket, ctx
):
    s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    task = Upload.model_validate({**conn, "bucket": bucket, "key": "k", "content": "v"})

    outputs = await task.run(ctx)

    assert outputs.version_id == s3.head_object(Bucket=bucket, Key="k")["VersionId"]


async def test_upload_list_of_uris_puts_each_under_key_prefix(s3, conn, bucket, ctx):
    uris = [
        ctx.storage.put_bytes(ctx.storage_path(n), n.encode())
        for n in ("a.txt", "b.txt")
    ]
    task = Upload.model_validate({**conn, "bucket": bucket, "key": "in/", "from": uris})

    outputs = await task.run(ctx)

    assert s3.get_object(Bucket=bucket, Key="in/a.txt")["Body"].read() == b"a.txt"
    assert s3.get_object(Bucket=bucket, Key="in/b.txt")["Body"].read() == b"b.txt"
    assert set(outputs.files) == {"a.txt", "b.txt"}
    assert outputs.files["a.txt"].key == "in/a.txt"


async def test_upload_map_given_as_json_string_names_objects(s3, conn, bucket, ctx):
    uri = ctx.storage.put_bytes(ctx.storage_path("tmp.bin"), b"1")
    task = Upload.model_validate(
        {**conn, "bucket": bucket, "key": "out", "from": json.dumps({"x/one.bin": uri})}
    )

    await task.run(ctx)

    assert s3.get_object(Bucket=bucket, Key="out/x/one.bin")["Body"].read() == b"1"


async def test_upload_large_file_goes_in_parts(s3, conn, bucket, ctx, monkeypatch):
    monkeypatch.setattr(upload_module, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    data = bytes(range(256)) * (6 * 1024 * 4)  # 6 MiB
    uri = ctx.storage.put_bytes(ctx.storage_path("big.bin"), data)
    task = Upload.model_validate(
        {**conn, "bucket": bucket, "key": "big.bin", "from": uri}
    )

    outputs = await task.run(ctx)

    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert re.search(r'-\d+"$', head["ETag"])  # a multipart upload's ETag
    assert outputs.e_tag == head["ETag"]


async def test_upload_to_missing_bucket_fails_not_retryable(conn, ctx, moto_url):
    task = Upload.model_validate(
        {**conn, "bucket": "no-such-bucket-x", "key": "k", "content": "v"}
    )

    with pytest.raises(
        TaskError, match="s3:PutObject s3://no-such-bucket-x/k failed: NoSuchBucket"
    ) as info:
        await task.run(ctx)

    assert not info.value.retryable


async def test_upload_multipart_to_missing_bucket_fails_with_task_error(
    conn, ctx, monkeypatch
):
    monkeypatch.setattr(upload_module, "MULTIPART_THRESHOLD", 5 * 1024 * 1024)
    uri = ctx.storage.put_bytes(ctx.storage_path("big.bin"), b"0" * (6 * 1024 * 1024))
    task = Upload.model_validate(
        {**conn, "bucket": "no-such-bucket-y", "key": "k", "from": uri}
    )

    with pytest.raises(TaskError, match="NoSuchBucket"):
        await task.run(ctx)


async def test_upload_refuses_source_outside_internal_storage(conn, bucket, ctx):
    task = Upload.model_validate(
        {**conn, "bucket": bucket, "key": "k", "from": "file:///etc/passwd"}
    )

    with pytest.raises(Exception, match="not an internal storage URI"):
        await task.run(ctx)


def test_upload_needs_exactly_one_of_from_or_content():
    with pytest.raises(ValidationError, match="exactly one of `from` or `content`"):
        Upload.model_validate({"bucket": "b", "key": "k"})
    with pytest.raises(ValidationError, match="exactly one"):
        Upload.model_validate(
            {"bucket": "b", "key": "k", "content": "x", "from": "storage://a"}
        )
