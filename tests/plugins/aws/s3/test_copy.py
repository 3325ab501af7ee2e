import pytest
from pydantic import ValidationError

from sluice.core.errors import TaskError
from sluice.plugins.aws.s3.copy import Copy, Move
from tests.plugins.aws.s3.conftest import all_keys


async def test_copy_to_other_bucket_keeps_source(s3, conn, bucket, ctx):
    s3.create_bucket(Bucket=f"{bucket}-dst")
    s3.put_object(Bucket=bucket, Key="in/r.csv", Body=b"data")
    task = Copy.model_validate(
        {
            **conn,
            "from": {"bucket": bucket, "key": "in/r.csv"},
            "to": {"bucket": f"{bucket}-dst", "key": "2025/r.csv"},
        }
    )

    outputs = await task.run(ctx)

    assert (
        s3.get_object(Bucket=f"{bucket}-dst", Key="2025/r.csv")["Body"].read()
        == b"data"
    )
    assert all_keys(s3, bucket) == ["in/r.csv"]
    assert (outputs.bucket, outputs.key) == (f"{bucket}-dst", "2025/r.csv")
    assert outputs.e_tag == s3.head_object(Bucket=bucket, Key="in/r.csv")["ETag"]


async def test_copy_with_delete_moves_object(s3, conn, bucket, ctx):
    s3.put_object(Bucket=bucket, Key="in/r.csv", Body=b"data")
    task = Copy.model_validate(
        {
            **conn,
            "from": {"bucket": bucket, "key": "in/r.csv"},
            "to": {"key": "done/r.csv"},
            "delete": True,
        }
    )

    await task.run(ctx)

    assert all_keys(s3, bucket) == ["done/r.csv"]


async def test_move_copies_then_deletes_source(s3, conn, bucket, ctx):
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    task = Move.model_validate(
        {**conn, "from": {"bucket": bucket, "key": "a"}, "to": {"key": "b"}}
    )

    outputs = await task.run(ctx)

    assert all_keys(s3, bucket) == ["b"]
    assert outputs.key == "b"


async def test_move_of_missing_object_fails_and_deletes_nothing(s3, conn, bucket, ctx):
    s3.put_object(Bucket=bucket, Key="other", Body=b"1")
    task = Move.model_validate(
        {**conn, "from": {"bucket": bucket, "key": "gone"}, "to": {"key": "b"}}
    )

    with pytest.raises(TaskError, match="s3:CopyObject") as info:
        await task.run(ctx)

    assert not info.value.retryable
    assert all_keys(s3, bucket) == ["other"]


async def test_copy_of_given_version(s3, conn, bucket, ctx):
    s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    v1 = s3.put_object(Bucket=bucket, Key="a", Body=b"v1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="a", Body=b"v2")
    task = Copy.model_validate(
        {
            **conn,
            "from": {"bucket": bucket, "key": "a", "versionId": v1},
            "to": {"key": "old"},
        }
    )

    outputs = await task.run(ctx)

    assert s3.get_object(Bucket=bucket, Key="old")["Body"].read() == b"v1"
    assert outputs.version_id


def test_move_onto_itself_is_refused():
    with pytest.raises(ValidationError, match="source object itself"):
        Move.model_validate(
            {"from": {"bucket": "b", "key": "a"}, "to": {"bucket": "b"}}
        )
