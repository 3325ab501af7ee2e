import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.s3.create_bucket import CreateBucket


async def test_create_bucket_creates_in_region(s3, moto_url, ctx, unique):
    task = CreateBucket.model_validate(
        {"region": "eu-west-1", "endpointOverride": moto_url, "bucket": f"eu-{unique}"}
    )

    outputs = await task.run(ctx)

    location = s3.get_bucket_location(Bucket=f"eu-{unique}")["LocationConstraint"]
    assert location == "eu-west-1"
    assert (outputs.bucket, outputs.region) == (f"eu-{unique}", "eu-west-1")


async def test_create_bucket_twice_by_owner_succeeds(s3, conn, ctx, unique):
    task = CreateBucket.model_validate(
        {**conn, "bucket": f"twice-{unique}", "region": "eu-west-1"}
    )

    await task.run(ctx)
    again = await task.run(ctx)

    assert again.bucket == f"twice-{unique}"
    assert f"twice-{unique}" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


async def test_create_bucket_owned_by_another_account_fails(
    conn, ctx, unique, moto_url
):
    theirs = CreateBucket.model_validate(
        {
            **conn,
            "bucket": f"taken-{unique}",
            "stsRoleArn": "arn:aws:iam::222222222222:role/x",
        }
    )
    await theirs.run(ctx)
    ours = CreateBucket.model_validate({**conn, "bucket": f"taken-{unique}"})

    with pytest.raises(TaskError, match="BucketAlreadyExists") as info:
        await ours.run(ctx)

    assert not info.value.retryable
