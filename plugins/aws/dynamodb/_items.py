"""What the DynamoDB tasks share: plain JSON items, expressions, paging, conditions.

Items are given and returned as plain JSON with their types kept: numbers stay numbers
(not strings, as in Kestra), lists stay lists, maps stay maps. Sets read back as sorted
lists and binary values as base64 text, since JSON has neither.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncGenerator, Callable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from pydantic import Field, field_validator

from sluice.core.errors import TaskError
from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws._jobs import FetchOutputs, FetchType, fetch_rows, plain_number

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_decimals(value: JsonValue) -> Any:
    # boto3 refuses floats (they lose precision): go through their shortest text.
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_decimals(v) for v in value]
    return value


def _to_json(value: Any) -> JsonValue:
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode()
    if isinstance(value, (set, frozenset)):
        return sorted((_to_json(v) for v in value), key=lambda v: (str(type(v)), v))
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def to_attributes(item: dict[str, JsonValue]) -> dict[str, Any]:
    """A JSON object as DynamoDB attribute values (`{"n": 1}` → `{"n": {"N": "1"}}`)."""
    return {k: _serializer.serialize(_to_decimals(v)) for k, v in item.items()}


def from_attributes(attributes: dict[str, Any]) -> dict[str, JsonValue]:
    """DynamoDB attribute values as a plain JSON object."""
    return {k: _to_json(_deserializer.deserialize(v)) for k, v in attributes.items()}


def json_object(value: JsonValue, what: str) -> dict[str, JsonValue]:
    """A JSON object given as a map or as JSON text (a rendered template)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            raise ValueError(f"{what} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


class TableTask(AwsTask):
    """Base of the DynamoDB tasks: the table and the expression placeholders."""

    table_name: str
    expression_attribute_names: dict[str, str] | None = None
    expression_attribute_values: dict[str, JsonValue] | None = None

    @field_validator("expression_attribute_values", mode="before")
    @classmethod
    def _values_object(cls, value: JsonValue) -> JsonValue:
        return (
            None if value is None else json_object(value, "expressionAttributeValues")
        )

    def expression_kwargs(self) -> dict[str, Any]:
        """`ExpressionAttributeNames`/`Values` for the request, when given."""
        kwargs: dict[str, Any] = {}
        if self.expression_attribute_names:
            kwargs["ExpressionAttributeNames"] = self.expression_attribute_names
        if self.expression_attribute_values:
            kwargs["ExpressionAttributeValues"] = to_attributes(
                self.expression_attribute_values
            )
        return kwargs

    async def conditional(
        self, what: str, fn: Callable[..., Any], condition: str | None, **kwargs: Any
    ) -> Any:
        """Run a write; a failed `condition` becomes one clear, non-retryable error."""
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            return await self.call(what, fn, **kwargs)
        except TaskError as err:
            if err.error_type != "ConditionalCheckFailedException":
                raise
            raise TaskError(
                f"{what}: condition not met: {condition}",
                retryable=False,
                error_type="ConditionalCheckFailed",
            ) from err

    async def items(
        self,
        what: str,
        fn: Callable[..., Any],
        limit: int | None,
        page_size: int | None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, JsonValue], None]:
        """Every item a Query or Scan returns, following each page, up to `limit`.

        DynamoDB's `Limit` (sent as `page_size`) counts items *read*, before the
        filter; without a filter it is also lowered to the items still wanted, never
        with one, so a sparse filter does not cost a request per item.
        """
        left = limit
        while True:
            size = page_size
            if left is not None and "FilterExpression" not in kwargs:
                size = min(left, size or left)
            if size is not None:
                kwargs["Limit"] = size
            page = await self.call(what, fn, **kwargs)
            for item in page.get("Items", []):
                if left is not None:
                    if left <= 0:
                        return
                    left -= 1
                yield from_attributes(item)
            if "LastEvaluatedKey" not in page or left == 0:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class ReadTask(TableTask):
    """Base of Query and Scan: filter, index, paging, limit and fetch type."""

    filter_expression: str | None = None
    index_name: str | None = None
    consistent_read: bool = False
    limit: int | None = Field(default=None, ge=1)
    page_size: int | None = Field(default=None, ge=1)
    fetch_type: FetchType = FetchType.STORE

    async def read(
        self, ctx: RunContext, operation: str, **kwargs: Any
    ) -> FetchOutputs:
        """Run `Query` or `Scan` with these settings; the items as `fetchType` asks."""
        kwargs.update(
            TableName=self.table_name,
            ConsistentRead=self.consistent_read,
            **self.expression_kwargs(),
        )
        if self.filter_expression:
            kwargs["FilterExpression"] = self.filter_expression
        if self.index_name:
            kwargs["IndexName"] = self.index_name
        dynamodb = self.client("dynamodb")
        items = self.items(
            f"dynamodb:{operation} {self.table_name}",
            getattr(dynamodb, operation.lower()),
            self.limit,
            self.page_size,
            **kwargs,
        )
        return await fetch_rows(ctx, items, self.fetch_type, "items.jsonl")
