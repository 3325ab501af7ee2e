from sluice.plugins.aws._connection import AwsConnection
from sluice.plugins.aws.s3.create_bucket import CreateBucket
from sluice.plugins.aws.s3.download import Download
from sluice.plugins.aws.s3.upload import Upload

WRITER = "arn:aws:iam::111111111111:role/writer"
READER = "arn:aws:iam::222222222222:role/reader"


async def bucket_names(conn: AwsConnection) -> list[str]:
    s3 = conn.client("s3")
    listing = await conn.call("s3:ListBuckets", s3.list_buckets)
    return [b["Name"] for b in listing["Buckets"]]


async def test_tasks_with_roles_in_two_accounts_share_a_bucket(conn, ctx, unique):
    bucket = f"shared-{unique}"
    writer = {**conn, "stsRoleArn": WRITER}
    reader = {**conn, "stsRoleArn": READER}

    await CreateBucket.model_validate({**writer, "bucket": bucket}).run(ctx)
    await Upload.model_validate(
        {**writer, "bucket": bucket, "key": "out/data.csv", "content": "id\n1\n"}
    ).run(ctx)
    downloaded = await Download.model_validate(
        {**reader, "bucket": bucket, "key": "out/data.csv"}
    ).run(ctx)

    assert ctx.storage.get_bytes(downloaded.uri) == b"id\n1\n"
    assert bucket in await bucket_names(AwsConnection.model_validate(writer))
    assert bucket not in await bucket_names(AwsConnection.model_validate(reader))
    assert bucket not in await bucket_names(AwsConnection.model_validate(conn))
