"""Amazon DynamoDB tasks (`aws.dynamodb.*`): items as plain JSON, types kept."""

from sluice.plugins.aws.dynamodb.delete_item import DeleteItem, DeleteItemOutputs
from sluice.plugins.aws.dynamodb.get_item import GetItem, GetItemOutputs
from sluice.plugins.aws.dynamodb.put_item import PutItem, PutItemOutputs
from sluice.plugins.aws.dynamodb.query import Query
from sluice.plugins.aws.dynamodb.scan import Scan

__all__ = [
    "DeleteItem",
    "DeleteItemOutputs",
    "GetItem",
    "GetItemOutputs",
    "PutItem",
    "PutItemOutputs",
    "Query",
    "Scan",
]
