"""Amazon S3 tasks (`aws.s3.*`) and the S3 polling trigger."""

from sluice.plugins.aws.s3._objects import ListFilter, S3Object
from sluice.plugins.aws.s3.download import Download, DownloadOutputs
from sluice.plugins.aws.s3.upload import Upload, UploadedFile, UploadOutputs

__all__ = [
    "Download",
    "DownloadOutputs",
    "ListFilter",
    "S3Object",
    "Upload",
    "UploadOutputs",
    "UploadedFile",
]
