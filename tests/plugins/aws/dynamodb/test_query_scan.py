import json

import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.dynamodb import Query, Scan
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws


@pytest.fixture
def twelve_orders(orders, dynamodb):
    for n in range(12):
        dynamodb.put_item(
            TableName=orders,
            Item={
                "customer": {"S": "c1" if n < 10 else "c2"},
                "sk": {"S": f"2025-{n:02d}"},
                "amount": {"N": str(n * 10)},
            },
        )
    return orders


def _query(moto_url, **props):
    return Query.model_validate(
        {
            "tableName": "orders",
            "keyConditionExpression": "customer = :c",
            "expressionAttributeValues": {":c": "c1"},
            "endpointOverride": moto_url,
            **props,
        }
    )


async def test_query_follows_every_page(moto_url, twelve_orders, tmp_path):
    task = _query(moto_url, pageSize=3, fetchType="FETCH")

    out = await task.run(make_run_context(tmp_path))

    assert out.size == 10
    assert [r["amount"] for r in out.rows] == [n * 10 for n in range(10)]


async def test_query_stops_at_limit_across_pages(moto_url, twelve_orders, tmp_path):
    task = _query(moto_url, pageSize=3, limit=7, fetchType="FETCH")

    out = await task.run(make_run_context(tmp_path))

    assert [r["sk"] for r in out.rows] == [f"2025-{n:02d}" for n in range(7)]


async def test_query_fetch_one_returns_first_filtered_item_newest_first(
    moto_url, twelve_orders, tmp_path
):
    task = _query(
        moto_url,
        filterExpression="amount >= :min",
        expressionAttributeValues={":c": "c1", ":min": 55},
        scanIndexForward=False,
        fetchType="FETCH_ONE",
    )

    out = await task.run(make_run_context(tmp_path))

    assert out.row == {"customer": "c1", "sk": "2025-09", "amount": 90}
    assert out.size == 1


async def test_query_stores_items_as_json_lines(moto_url, twelve_orders, tmp_path):
    ctx = make_run_context(tmp_path)

    out = await _query(moto_url).run(ctx)  # STORE is the default

    lines = ctx.storage.get_bytes(out.uri).decode().splitlines()
    assert out.size == len(lines) == 10
    assert json.loads(lines[0]) == {"customer": "c1", "sk": "2025-00", "amount": 0}


async def test_query_fails_with_dynamodb_message_when_expression_is_wrong(
    moto_url, twelve_orders, tmp_path
):
    task = _query(moto_url, keyConditionExpression="customer = :missing")

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert err.value.message.startswith("dynamodb:Query orders failed: Validation")
    assert not err.value.retryable


async def test_scan_filters_across_pages_up_to_limit(moto_url, twelve_orders, tmp_path):
    task = Scan.model_validate(
        {
            "tableName": "orders",
            "filterExpression": "amount > :min",
            "expressionAttributeValues": {":min": 20},
            "pageSize": 4,
            "limit": 5,
            "fetchType": "FETCH",
            "endpointOverride": moto_url,
        }
    )

    out = await task.run(make_run_context(tmp_path))

    assert out.size == 5
    assert all(r["amount"] > 20 for r in out.rows)


async def test_scan_none_counts_every_item(moto_url, twelve_orders, tmp_path):
    task = Scan.model_validate(
        {"tableName": "orders", "fetchType": "NONE", "endpointOverride": moto_url}
    )

    out = await task.run(make_run_context(tmp_path))

    assert (out.size, out.rows, out.uri) == (12, None, None)
