"""S3 test helpers: a bucket named after the test, a client, and task properties."""

from __future__ import annotations

import re

import boto3
import pytest

from tests.plugin_context import make_run_context


@pytest.fixture
def s3(moto_url):
    """A plain boto3 S3 client on the moto server (to arrange and check buckets)."""
    return boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")


@pytest.fixture
def conn(moto_url) -> dict:
    """The connection properties every task in these tests gets (camelCase)."""
    return {"region": "us-east-1", "endpointOverride": moto_url}


@pytest.fixture
def bucket(request, s3, unique) -> str:
    """An empty bucket whose name comes from the test's name."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    name = f"{name[:50].strip('-')}-{unique}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def ctx(tmp_path):
    """A run context with local storage under tmp_path."""
    return make_run_context(tmp_path)


def put_objects(s3, bucket: str, keys, body: bytes = b"x") -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def all_keys(s3, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def seed_objects(bucket: str, keys, body: bytes = b"x") -> None:
    """Put many objects fast, straight into the in-process moto backend (no HTTP).

    Only for arranging large buckets: 1,000 PutObject calls over HTTP take ~5 s.
    """
    from moto.s3.models import s3_backends

    backend = s3_backends["123456789012"]["aws"]
    for key in keys:
        backend.put_object(bucket, key, body)


def backdate(bucket: str, key: str, seconds: int) -> None:
    """Make an object look older (moto keeps LastModified to the second)."""
    from datetime import timedelta

    from moto.s3.models import s3_backends

    fake = s3_backends["123456789012"]["aws"].get_object(bucket, key)
    fake.last_modified -= timedelta(seconds=seconds)
