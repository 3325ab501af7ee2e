"""Amazon S3 tasks (`aws.s3.*`) and the S3 polling trigger."""

from sluice.plugins.aws.s3._objects import ListFilter, S3Object
from sluice.plugins.aws.s3.copy import (
    Copy,
    CopyDestination,
    CopyOutputs,
    CopySource,
    Move,
)
from sluice.plugins.aws.s3.create_bucket import CreateBucket, CreateBucketOutputs
from sluice.plugins.aws.s3.delete import Delete, DeleteOutputs
from sluice.plugins.aws.s3.delete_list import DeleteList, DeleteListOutputs
from sluice.plugins.aws.s3.download import Download, DownloadOutputs
from sluice.plugins.aws.s3.list import List, ListOutputs
from sluice.plugins.aws.s3.storage_backend import S3Storage
from sluice.plugins.aws.s3.trigger import MoveTo, Trigger
from sluice.plugins.aws.s3.upload import Upload, UploadedFile, UploadOutputs

__all__ = [
    "Copy",
    "CopyDestination",
    "CopyOutputs",
    "CopySource",
    "CreateBucket",
    "CreateBucketOutputs",
    "Delete",
    "DeleteList",
    "DeleteListOutputs",
    "DeleteOutputs",
    "Download",
    "DownloadOutputs",
    "List",
    "ListFilter",
    "ListOutputs",
    "Move",
    "MoveTo",
    "S3Object",
    "S3Storage",
    "Trigger",
    "Upload",
    "UploadOutputs",
    "UploadedFile",
]
