"""`aws.dynamodb.Scan`: every item of a table, filtered, every page, up to a limit."""

from __future__ import annotations

from typing import ClassVar

from sluice.core.plugin import RunContext
from sluice.core.registry import register_task
from sluice.plugins.aws._jobs import FetchOutputs
from sluice.plugins.aws.dynamodb._items import ReadTask


@register_task
class Scan(ReadTask):
    """Scan a table or index and return its items, optionally filtered.

    Every page is followed (Kestra reads only the first) until `limit` items are
    returned; `pageSize` caps the items read per request (DynamoDB's `Limit`).
    `fetchType` works as in `aws.dynamodb.Query`.

    Example:
        ```yaml
        id: dynamodb_scan
        namespace: company.team
        tasks:
          - id: inactive
            type: aws.dynamodb.Scan
            region: us-east-1
            tableName: customers
            filterExpression: active = :no
            expressionAttributeValues:
              ":no": false
            fetchType: STORE
        ```
    """

    type_name: ClassVar[str] = "aws.dynamodb.Scan"

    async def run(self, ctx: RunContext) -> FetchOutputs:
        """Scan and return the items as `fetchType` asks."""
        return await self.read(ctx, "Scan")
