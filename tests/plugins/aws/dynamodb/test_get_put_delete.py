import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.dynamodb import DeleteItem, GetItem, PutItem
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws


def _props(moto_url, table, **props):
    return {"tableName": table, "endpointOverride": moto_url, **props}


async def test_put_item_then_get_item_keeps_numbers_as_numbers(
    moto_url, customers, dynamodb, tmp_path
):
    ctx = make_run_context(tmp_path)
    item = {"id": 42, "name": "Ada", "score": 9.5, "visits": [1, 2], "vip": True}

    put = await PutItem.model_validate(_props(moto_url, customers, item=item)).run(ctx)
    got = await GetItem.model_validate(_props(moto_url, customers, key={"id": 42})).run(
        ctx
    )

    assert put.previous is None
    assert got.found
    assert got.row == item
    stored = dynamodb.get_item(TableName="customers", Key={"id": {"N": "42"}})["Item"]
    assert stored["score"] == {"N": "9.5"}


async def test_put_item_accepts_json_text_and_returns_replaced_item(
    moto_url, customers, tmp_path
):
    ctx = make_run_context(tmp_path)
    await PutItem.model_validate(
        _props(moto_url, customers, item='{"id": 1, "name": "old"}')
    ).run(ctx)

    out = await PutItem.model_validate(
        _props(moto_url, customers, item={"id": 1, "name": "new"})
    ).run(ctx)

    assert out.previous == {"id": 1, "name": "old"}


async def test_put_item_fails_not_retryable_when_condition_fails(
    moto_url, customers, dynamodb, tmp_path
):
    ctx = make_run_context(tmp_path)
    props = _props(
        moto_url,
        customers,
        item={"id": 7, "name": "second"},
        conditionExpression="attribute_not_exists(id)",
    )
    await PutItem.model_validate({**props, "item": {"id": 7, "name": "first"}}).run(ctx)

    with pytest.raises(TaskError) as err:
        await PutItem.model_validate(props).run(ctx)

    assert err.value.message == (
        "dynamodb:PutItem customers: condition not met: attribute_not_exists(id)"
    )
    assert err.value.error_type == "ConditionalCheckFailed"
    assert not err.value.retryable
    stored = dynamodb.get_item(TableName="customers", Key={"id": {"N": "7"}})["Item"]
    assert stored["name"] == {"S": "first"}


async def test_get_item_returns_empty_row_when_item_is_missing(
    moto_url, customers, tmp_path
):
    task = GetItem.model_validate(_props(moto_url, customers, key={"id": 404}))

    out = await task.run(make_run_context(tmp_path))

    assert (out.row, out.found) == ({}, False)


async def test_get_item_fails_not_retryable_when_table_is_missing(moto_url, tmp_path):
    task = GetItem.model_validate(_props(moto_url, "nope", key={"id": 1}))

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert (
        "dynamodb:GetItem nope failed: ResourceNotFoundException" in err.value.message
    )
    assert not err.value.retryable


async def test_delete_item_with_condition_deletes_only_when_it_holds(
    moto_url, customers, dynamodb, tmp_path
):
    ctx = make_run_context(tmp_path)
    await PutItem.model_validate(
        _props(moto_url, customers, item={"id": 3, "status": "open"})
    ).run(ctx)
    props = _props(
        moto_url,
        customers,
        key={"id": 3},
        conditionExpression="#s = :done",
        expressionAttributeNames={"#s": "status"},
        expressionAttributeValues={":done": "done"},
    )

    with pytest.raises(TaskError, match="condition not met: #s = :done"):
        await DeleteItem.model_validate(props).run(ctx)
    assert "Item" in dynamodb.get_item(TableName="customers", Key={"id": {"N": "3"}})

    await PutItem.model_validate(
        _props(moto_url, customers, item={"id": 3, "status": "done"})
    ).run(ctx)
    out = await DeleteItem.model_validate(props).run(ctx)

    assert out.deleted
    assert out.previous == {"id": 3, "status": "done"}
    assert "Item" not in dynamodb.get_item(
        TableName="customers", Key={"id": {"N": "3"}}
    )


async def test_delete_item_reports_nothing_deleted_when_missing(
    moto_url, customers, tmp_path
):
    task = DeleteItem.model_validate(_props(moto_url, customers, key={"id": 9}))

    out = await task.run(make_run_context(tmp_path))

    assert (out.deleted, out.previous) == (False, None)


def test_put_item_rejects_item_that_is_not_a_json_object():
    with pytest.raises(ValueError, match="item must be a JSON object"):
        PutItem.model_validate({"tableName": "t", "item": "[1, 2]"})
    with pytest.raises(ValueError, match="item is not valid JSON"):
        PutItem.model_validate({"tableName": "t", "item": "{oops"})
