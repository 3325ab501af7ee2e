import json
from datetime import timedelta

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.core.plugin import Waiting
from sluice.plugins.aws.athena import Query
from sluice.plugins.aws.athena._types import typed_value
from tests.fixtures_aws import ACCOUNT, REGION, moto_post, set_transition
from tests.plugin_context import make_run_context

pytestmark = pytest.mark.aws

COLUMNS = [
    {"Name": "region", "Type": "varchar"},
    {"Name": "orders", "Type": "bigint"},
    {"Name": "total", "Type": "decimal"},
    {"Name": "share", "Type": "double"},
    {"Name": "active", "Type": "boolean"},
    {"Name": "day", "Type": "date"},
]


def _row(*values):
    return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}


def _seed(moto_url: str) -> None:
    boto3.client("s3", endpoint_url=moto_url, region_name=REGION).create_bucket(
        Bucket="results"
    )
    rows = [
        _row("region", "orders", "total", "share", "active", "day"),
        _row("eu", "12", "1040.50", "0.25", "true", "2025-01-01"),
        _row("us", "30", "3000", "0.75", "false", None),
    ]
    moto_post(
        moto_url,
        "/moto-api/static/athena/query-results",
        {
            "account_id": ACCOUNT,
            "region": REGION,
            "results": [{"rows": rows, "column_info": COLUMNS}],
        },
    )


def _task(moto_url: str, **props) -> Query:
    return Query.model_validate(
        {
            "database": "sales",
            "outputLocation": "s3://results/q/",
            "query": "SELECT * FROM orders",
            "endpointOverride": moto_url,
            **props,
        }
    )


async def _until_done(task, ctx, limit=5):
    result = await task.run(ctx)
    for _ in range(limit):
        if not isinstance(result, Waiting):
            return result
        ctx.checkpoint = result.checkpoint
        result = await task.run(ctx)
    raise AssertionError("query never ended")


def _executions(moto_url: str) -> list[str]:
    athena = boto3.client("athena", endpoint_url=moto_url, region_name=REGION)
    return athena.list_query_executions()["QueryExecutionIds"]


async def test_query_waits_durably_then_fetches_typed_rows_once(moto_url, tmp_path):
    _seed(moto_url)
    set_transition(moto_url, "athena::execution", {"progression": "manual", "times": 1})
    task = _task(moto_url, fetchType="FETCH")
    ctx = make_run_context(tmp_path)

    first = await task.run(ctx)
    assert isinstance(first, Waiting)
    ctx.checkpoint = first.checkpoint
    second = await task.run(ctx)  # RUNNING: same query, polled again
    assert isinstance(second, Waiting)
    assert second.checkpoint == first.checkpoint
    ctx.checkpoint = second.checkpoint
    out = await task.run(ctx)

    assert out.rows == [
        {
            "region": "eu",
            "orders": 12,
            "total": 1040.5,
            "share": 0.25,
            "active": True,
            "day": "2025-01-01",
        },
        {
            "region": "us",
            "orders": 30,
            "total": 3000,
            "share": 0.75,
            "active": False,
            "day": None,
        },
    ]
    assert out.size == 2
    assert out.query_execution_id == first.checkpoint["queryExecutionId"]
    assert _executions(moto_url) == [out.query_execution_id]


async def test_query_stores_rows_as_json_lines(moto_url, tmp_path):
    _seed(moto_url)
    ctx = make_run_context(tmp_path)

    out = await _until_done(_task(moto_url), ctx)

    lines = ctx.storage.get_bytes(out.uri).decode().splitlines()
    assert [json.loads(line)["orders"] for line in lines] == [12, 30]
    assert out.size == 2
    assert out.rows is None
    assert out.output_location.startswith("s3://results/q/")


async def test_query_fetch_one_returns_first_row_with_header_kept(moto_url, tmp_path):
    _seed(moto_url)
    task = _task(moto_url, fetchType="FETCH_ONE", skipHeader=False)

    out = await _until_done(task, make_run_context(tmp_path))

    assert out.row["region"] == "region"  # the header row, since it was not skipped
    assert out.row["orders"] == "orders"  # not a number: kept as text
    assert out.size == 1


async def test_query_fetch_none_counts_rows_only(moto_url, tmp_path):
    _seed(moto_url)

    out = await _until_done(
        _task(moto_url, fetchType="NONE"), make_run_context(tmp_path)
    )

    assert (out.size, out.rows, out.row, out.uri) == (2, None, None, None)


async def test_query_without_wait_returns_execution_id_at_once(moto_url, tmp_path):
    out = await _task(moto_url, wait=False).run(make_run_context(tmp_path))

    assert _executions(moto_url) == [out.query_execution_id]
    assert out.size is None


async def test_query_fails_with_athena_reason_when_query_fails(
    moto_url, tmp_path, monkeypatch
):
    from moto.athena.models import athena_backends
    from moto.athena.responses import AthenaResponse

    described = AthenaResponse.get_query_execution

    def with_reason(self):
        # moto never fails a query and so never sends a reason: add Athena's own.
        body = json.loads(described(self))
        if body["QueryExecution"]["Status"]["State"] == "FAILED":
            body["QueryExecution"]["Status"]["StateChangeReason"] = (
                "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved"
            )
        return json.dumps(body)

    monkeypatch.setattr(AthenaResponse, "get_query_execution", with_reason)
    set_transition(moto_url, "athena::execution", {"progression": "manual", "times": 9})
    ctx = make_run_context(tmp_path)
    waiting = await _task(moto_url).run(ctx)
    query_id = waiting.checkpoint["queryExecutionId"]
    athena_backends[ACCOUNT][REGION].executions[query_id].status = "FAILED"
    ctx.checkpoint = waiting.checkpoint

    with pytest.raises(TaskError) as err:
        await _task(moto_url).run(ctx)

    assert err.value.message == (
        "Athena query ended FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be "
        "resolved"
    )


async def test_query_is_stopped_when_it_runs_past_max_duration(moto_url, tmp_path):
    set_transition(moto_url, "athena::execution", {"progression": "manual", "times": 9})
    task = _task(moto_url, maxDuration="PT10M")
    ctx = make_run_context(tmp_path)
    waiting = await task.run(ctx)
    ctx.checkpoint = waiting.checkpoint
    ctx.clock.advance(timedelta(minutes=10))

    with pytest.raises(TaskError, match=r"after 0:10:00 .*; cancelled") as err:
        await task.run(ctx)

    assert err.value.error_type == "WaitTimeout"
    athena = boto3.client("athena", endpoint_url=moto_url, region_name=REGION)
    query_id = waiting.checkpoint["queryExecutionId"]
    state = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert state["Status"]["State"] == "CANCELLED"


@pytest.mark.parametrize(
    ("column_type", "text", "value"),
    [
        ("integer", "7", 7),
        ("decimal(10,2)", "12.50", 12.5),
        ("decimal(38,0)", "12", 12),
        ("real", "1.5", 1.5),
        ("boolean", "TRUE", True),
        ("bigint", "oops", "oops"),
        ("timestamp", "2025-01-01 10:00:00.000", "2025-01-01 10:00:00.000"),
        ("varchar", None, None),
    ],
)
def test_typed_value_follows_column_type(column_type, text, value):
    assert typed_value(column_type, text) == value
