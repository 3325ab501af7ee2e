import logging

import pytest
from pydantic import ValidationError

from sluice.core.plugin import split_outputs
from sluice.plugins.aws.s3.list import List
from tests.plugins.aws.s3.conftest import put_objects, seed_objects


async def test_list_keeps_prefix_and_full_key_regexp(s3, conn, bucket, ctx):
    put_objects(s3, bucket, ["in/a.csv", "in/b.json", "in/sub/c.csv", "out/d.csv"])
    task = List.model_validate(
        {**conn, "bucket": bucket, "prefix": "in/", "regexp": r"in/[^/]*\.csv"}
    )

    outputs = await task.run(ctx)

    assert [o.key for o in outputs.objects] == ["in/a.csv"]


async def test_list_regexp_must_match_whole_key(s3, conn, bucket, ctx):
    put_objects(s3, bucket, ["data.csv", "data.csv.bak"])
    task = List.model_validate({**conn, "bucket": bucket, "regexp": r".*\.csv"})

    outputs = await task.run(ctx)

    assert [o.key for o in outputs.objects] == ["data.csv"]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [("FILES", ["d/f.txt"]), ("DIRECTORY", ["d/"]), ("BOTH", ["d/", "d/f.txt"])],
)
async def test_list_filter_keeps_files_or_directories(
    s3, conn, bucket, ctx, filter_, expected
):
    put_objects(s3, bucket, ["d/", "d/f.txt"])
    task = List.model_validate({**conn, "bucket": bucket, "filter": filter_})

    outputs = await task.run(ctx)

    assert [o.key for o in outputs.objects] == expected


async def test_list_reads_every_page(s3, conn, bucket, ctx):
    keys = [f"k{i:04d}" for i in range(1203)]
    seed_objects(bucket, keys)
    task = List.model_validate(
        {**conn, "bucket": bucket, "maxKeys": 5000, "maxFiles": 5000, "regexp": r"k1.*"}
    )

    outputs = await task.run(ctx)

    assert [o.key for o in outputs.objects] == [k for k in keys if k.startswith("k1")]


async def test_list_max_keys_caps_keys_listed_before_filtering(s3, conn, bucket, ctx):
    put_objects(s3, bucket, ["a1", "a2", "b1", "b2"])
    task = List.model_validate(
        {**conn, "bucket": bucket, "maxKeys": 3, "regexp": "b.*"}
    )

    outputs = await task.run(ctx)

    assert [o.key for o in outputs.objects] == ["b1"]


async def test_list_max_files_truncates_with_warning(s3, conn, bucket, ctx):
    put_objects(s3, bucket, [f"f{i}" for i in range(5)])
    task = List.model_validate({**conn, "bucket": bucket, "maxFiles": 2})

    outputs = await task.run(ctx)

    assert [o.key for o in outputs.objects] == ["f0", "f1"]
    assert any("keeping the first 2" in m for m in ctx.logger.messages(logging.WARNING))


async def test_list_outputs_object_fields_by_kestra_names(s3, conn, bucket, ctx):
    s3.put_object(Bucket=bucket, Key="x/y.txt", Body=b"hello")
    task = List.model_validate({**conn, "bucket": bucket})

    public, _ = split_outputs(await task.run(ctx))

    item = public["objects"][0]
    assert item["key"] == "x/y.txt"
    assert item["size"] == 5
    assert item["etag"] == s3.head_object(Bucket=bucket, Key="x/y.txt")["ETag"]
    assert item["uri"] == f"s3://{bucket}/x/y.txt"
    assert item["lastModified"].endswith("Z") or "+00:00" in item["lastModified"]


def test_list_refuses_invalid_regexp():
    with pytest.raises(ValidationError, match="regexp"):
        List.model_validate({"bucket": "b", "regexp": "("})
