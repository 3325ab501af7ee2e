import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.s3.delete import Delete
from sluice.plugins.aws.s3.delete_list import DeleteList
from tests.plugins.aws.s3.conftest import all_keys, put_objects, seed_objects


async def test_delete_removes_object(s3, conn, bucket, ctx):
    put_objects(s3, bucket, ["a", "b"])
    task = Delete.model_validate({**conn, "bucket": bucket, "key": "a"})

    outputs = await task.run(ctx)

    assert all_keys(s3, bucket) == ["b"]
    assert outputs.delete_marker is False


async def test_delete_in_versioned_bucket_reports_delete_marker(s3, conn, bucket, ctx):
    s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    put_objects(s3, bucket, ["a"])
    task = Delete.model_validate({**conn, "bucket": bucket, "key": "a"})

    outputs = await task.run(ctx)

    assert outputs.delete_marker is True
    assert outputs.version_id


async def test_delete_in_missing_bucket_fails_not_retryable(conn, ctx, moto_url):
    task = Delete.model_validate({**conn, "bucket": "no-bucket-here-z", "key": "a"})

    with pytest.raises(TaskError, match="s3:DeleteObject") as info:
        await task.run(ctx)

    assert not info.value.retryable


async def test_delete_list_deletes_matching_keys_and_counts_bytes(
    s3, conn, bucket, ctx
):
    put_objects(
        s3, bucket, ["tmp/a.part", "tmp/b.part", "tmp/keep.csv", "other/c.part"], b"123"
    )
    task = DeleteList.model_validate(
        {**conn, "bucket": bucket, "prefix": "tmp/", "regexp": r"tmp/.*\.part"}
    )

    outputs = await task.run(ctx)

    assert (outputs.count, outputs.size) == (2, 6)
    assert all_keys(s3, bucket) == ["other/c.part", "tmp/keep.csv"]


async def test_delete_list_deletes_more_than_one_batch(s3, conn, bucket, ctx):
    seed_objects(bucket, [f"x/{i:05d}" for i in range(1105)])
    task = DeleteList.model_validate({**conn, "bucket": bucket, "prefix": "x/"})

    outputs = await task.run(ctx)

    assert outputs.count == 1105
    assert all_keys(s3, bucket) == []


async def test_delete_list_with_nothing_matching_fails_when_asked(
    s3, conn, bucket, ctx
):
    put_objects(s3, bucket, ["a"])
    lenient = DeleteList.model_validate({**conn, "bucket": bucket, "prefix": "zz/"})
    strict = DeleteList.model_validate(
        {**conn, "bucket": bucket, "prefix": "zz/", "errorOnEmpty": True}
    )

    assert (await lenient.run(ctx)).count == 0
    with pytest.raises(TaskError, match="nothing deleted"):
        await strict.run(ctx)
