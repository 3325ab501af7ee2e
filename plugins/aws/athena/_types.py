"""Athena returns every value as text; these turn it back into JSON by column type."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sluice.core.events import JsonValue
from sluice.plugins.aws._jobs import plain_number

_INTEGERS = frozenset({"tinyint", "smallint", "int", "integer", "bigint"})
_FLOATS = frozenset({"double", "float", "real"})


def typed_value(column_type: str, text: str | None) -> JsonValue:
    """One Athena value as JSON: numbers and booleans typed, NULL as None.

    Dates, timestamps, arrays, maps and rows stay text, as Athena prints them. A value
    that does not parse as its column's type is kept as text rather than lost.
    """
    if text is None:
        return None
    kind = column_type.lower().split("(", 1)[0].strip()
    try:
        if kind == "boolean":
            return text.lower() == "true"
        if kind in _INTEGERS:
            return int(text)
        if kind in _FLOATS:
            return float(text)
        if kind == "decimal":
            return plain_number(Decimal(text))
    except (ValueError, InvalidOperation):
        return text
    return text


def typed_row(
    columns: Sequence[dict[str, Any]], row: dict[str, Any]
) -> dict[str, JsonValue]:
    """One `ResultSet` row as a JSON object keyed by column name."""
    data = row.get("Data", [])
    return {
        column["Name"]: typed_value(
            column.get("Type", "varchar"),
            data[i].get("VarCharValue") if i < len(data) else None,
        )
        for i, column in enumerate(columns)
    }
