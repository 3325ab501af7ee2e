"""`aws.dynamodb.Query`: items with one partition key, every page, up to a limit."""

from __future__ import annotations

from typing import ClassVar

from sluice.core.plugin import RunContext
from sluice.core.registry import register_task
from sluice.plugins.aws._jobs import FetchOutputs
from sluice.plugins.aws.dynamodb._items import ReadTask


@register_task
class Query(ReadTask):
    """Query a table or index by key condition and return the items.

    Every page is followed (Kestra reads only the first) until `limit` items are
    returned; `pageSize` caps the items read per request (DynamoDB's `Limit`).
    `fetchType`: STORE (default) writes the items to internal storage as JSON
    lines (`uri`), FETCH returns `rows`, FETCH_ONE returns `row`, NONE only counts them
    (`size`).

    Example:
        ```yaml
        id: dynamodb_query
        namespace: company.team
        tasks:
          - id: orders
            type: aws.dynamodb.Query
            region: us-east-1
            tableName: orders
            keyConditionExpression: customer = :c AND begins_with(sk, :prefix)
            expressionAttributeValues:
              ":c": "42"
              ":prefix": "2025-"
            filterExpression: amount > :min
            limit: 100
            fetchType: FETCH
        ```
    """

    type_name: ClassVar[str] = "aws.dynamodb.Query"
    key_condition_expression: str
    scan_index_forward: bool = True

    async def run(self, ctx: RunContext) -> FetchOutputs:
        """Run the query and return the items as `fetchType` asks."""
        return await self.read(
            ctx,
            "Query",
            KeyConditionExpression=self.key_condition_expression,
            ScanIndexForward=self.scan_index_forward,
        )
