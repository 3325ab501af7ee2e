"""AWS IAM access-key tasks (`aws.iam.*`), for key rotation flows."""

from sluice.plugins.aws.iam.create_access_key import (
    CreateAccessKey,
    CreateAccessKeyOutputs,
)
from sluice.plugins.aws.iam.delete_access_key import (
    DeleteAccessKey,
    DeleteAccessKeyOutputs,
)
from sluice.plugins.aws.iam.list_access_keys import (
    AccessKey,
    ListAccessKeys,
    ListAccessKeysOutputs,
)
from sluice.plugins.aws.iam.update_access_key import (
    UpdateAccessKey,
    UpdateAccessKeyOutputs,
)

__all__ = [
    "AccessKey",
    "CreateAccessKey",
    "CreateAccessKeyOutputs",
    "DeleteAccessKey",
    "DeleteAccessKeyOutputs",
    "ListAccessKeys",
    "ListAccessKeysOutputs",
    "UpdateAccessKey",
    "UpdateAccessKeyOutputs",
]
