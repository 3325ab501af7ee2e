"""`aws.dynamodb.PutItem`: write one item, optionally only if a condition holds."""

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


class PutItemOutputs(TaskOutputs):
    """The item this write replaced, if there was one."""

    previous: dict[str, JsonValue] | None = None


@register_task
class PutItem(TableTask):
    """Create or replace one item, with its types kept (numbers stay numbers).

    `item` is a map, or JSON text (a rendered template). With `conditionExpression`
    the write happens only when the condition holds; otherwise the task fails, not
    retryable, saying which condition failed.

    Example:
        ```yaml
        id: dynamodb_put
        namespace: company.team
        tasks:
          - id: put
            type: aws.dynamodb.PutItem
            region: us-east-1
            tableName: customers
            item:
              id: 42
              name: Ada
              score: 9.5
            conditionExpression: attribute_not_exists(id)
        ```
    """

    type_name: ClassVar[str] = "aws.dynamodb.PutItem"
    item: dict[str, JsonValue]
    condition_expression: str | None = None

    @field_validator("item", mode="before")
    @classmethod
    def _item_object(cls, value: JsonValue) -> JsonValue:
        return json_object(value, "item")

    async def run(self, ctx: RunContext) -> PutItemOutputs:
        """Put the item."""
        dynamodb = self.client("dynamodb")
        response = await self.conditional(
            f"dynamodb:PutItem {self.table_name}",
            dynamodb.put_item,
            self.condition_expression,
            TableName=self.table_name,
            Item=to_attributes(self.item),
            ReturnValues="ALL_OLD",
            **self.expression_kwargs(),
        )
        old = response.get("Attributes")
        return PutItemOutputs(previous=from_attributes(old) if old else None)
