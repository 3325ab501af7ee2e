from decimal import Decimal

from boto3.dynamodb.types import Binary

from sluice.plugins.aws.dynamodb._items import from_attributes, to_attributes


def test_items_round_trip_keeps_json_types():
    item = {
        "id": 42,
        "score": 9.5,
        "name": "Ada",
        "active": False,
        "tags": ["a", 1],
        "address": {"zip": 75001, "city": "Paris"},
        "nothing": None,
    }

    attrs = to_attributes(item)

    assert attrs["id"] == {"N": "42"}
    assert attrs["score"] == {"N": "9.5"}
    assert attrs["tags"] == {"L": [{"S": "a"}, {"N": "1"}]}
    assert from_attributes(attrs) == item


def test_items_read_sets_as_sorted_lists_and_binary_as_base64():
    attrs = {
        "ns": {"NS": ["3", "1.5"]},
        "ss": {"SS": ["b", "a"]},
        "raw": {"B": Binary(b"\x00\x01").value},
        "big": {"N": str(Decimal("12345678901234567890"))},
    }

    assert from_attributes(attrs) == {
        "ns": [1.5, 3],
        "ss": ["a", "b"],
        "raw": "AAE=",
        "big": 12345678901234567890,
    }
