"""`aws.dynamodb.DeleteItem`: delete one item, optionally only if a condition holds."""

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


class DeleteItemOutputs(TaskOutputs):
    """Whether an item was there to delete, and what it held."""

    deleted: bool
    previous: dict[str, JsonValue] | None = None


@register_task
class DeleteItem(TableTask):
    """Delete one item by its primary key; deleting a missing item is not an error.

    With `conditionExpression` the delete happens only when the condition holds;
    otherwise the task fails, not retryable, saying which condition failed.

    Example:
        ```yaml
        id: dynamodb_delete
        namespace: company.team
        tasks:
          - id: delete
            type: aws.dynamodb.DeleteItem
            region: us-east-1
            tableName: customers
            key:
              id: 42
            conditionExpression: "#s = :done"
            expressionAttributeNames:
              "#s": status
            expressionAttributeValues:
              ":done": done
        ```
    """

    type_name: ClassVar[str] = "aws.dynamodb.DeleteItem"
    key: dict[str, JsonValue]
    condition_expression: str | None = None

    @field_validator("key", mode="before")
    @classmethod
    def _key_object(cls, value: JsonValue) -> JsonValue:
        return json_object(value, "key")

    async def run(self, ctx: RunContext) -> DeleteItemOutputs:
        """Delete the item."""
        dynamodb = self.client("dynamodb")
        response = await self.conditional(
            f"dynamodb:DeleteItem {self.table_name}",
            dynamodb.delete_item,
            self.condition_expression,
            TableName=self.table_name,
            Key=to_attributes(self.key),
            ReturnValues="ALL_OLD",
            **self.expression_kwargs(),
        )
        old = response.get("Attributes")
        return DeleteItemOutputs(
            deleted=old is not None, previous=from_attributes(old) if old else None
        )
