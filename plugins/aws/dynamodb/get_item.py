"""`aws.dynamodb.GetItem`: read one item by its key."""

from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws.dynamodb._items import (
    TableTask,
    from_attributes,
    json_object,
    to_attributes,
)


class GetItemOutputs(TaskOutputs):
    """The item (`{}` when there is none, as in Kestra) and whether it was found."""

    row: dict[str, JsonValue]
    found: bool


@register_task
class GetItem(TableTask):
    """Read one item by its primary key; numbers come back as numbers.

    Example:
        ```yaml
        id: dynamodb_get
        namespace: company.team
        tasks:
          - id: get
            type: aws.dynamodb.GetItem
            region: us-east-1
            tableName: customers
            key:
              id: 42
        ```
    """

    type_name: ClassVar[str] = "aws.dynamodb.GetItem"
    key: dict[str, JsonValue]
    consistent_read: bool = False
    projection_expression: str | None = None

    @field_validator("key", mode="before")
    @classmethod
    def _key_object(cls, value: JsonValue) -> JsonValue:
        return json_object(value, "key")

    async def run(self, ctx: RunContext) -> GetItemOutputs:
        """Get the item."""
        kwargs = {
            "TableName": self.table_name,
            "Key": to_attributes(self.key),
            "ConsistentRead": self.consistent_read,
            **self.expression_kwargs(),
        }
        if self.projection_expression:
            kwargs["ProjectionExpression"] = self.projection_expression
        dynamodb = self.client("dynamodb")
        response = await self.call(
            f"dynamodb:GetItem {self.table_name}", dynamodb.get_item, **kwargs
        )
        item = response.get("Item")
        return GetItemOutputs(
            row=from_attributes(item) if item else {}, found=item is not None
        )
