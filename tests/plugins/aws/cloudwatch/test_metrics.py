import urllib.request
from datetime import timedelta

import boto3
import pytest

from sluice.core.errors import TaskError
from sluice.plugins.aws.cloudwatch import Push, Query
from tests.fixtures_aws import REGION
from tests.plugin_context import START, make_run_context

pytestmark = pytest.mark.aws


def _push(moto_url, metrics, namespace="Company/Pipelines", **props):
    return Push.model_validate(
        {
            "namespace": namespace,
            "metrics": metrics,
            "endpointOverride": moto_url,
            **props,
        }
    )


def _query(moto_url, **props):
    return Query.model_validate(
        {
            "namespace": "Company/Pipelines",
            "metricName": "RowsLoaded",
            "dimensions": {"Pipeline": "orders"},
            "endpointOverride": moto_url,
            **props,
        }
    )


def _at(minutes_before):
    return (START - timedelta(minutes=minutes_before)).isoformat()


async def test_push_then_query_returns_datapoints_sorted_with_latest(
    moto_url, tmp_path
):
    ctx = make_run_context(tmp_path)
    metrics = [
        {
            "metricName": "RowsLoaded",
            "value": v,
            "unit": "Count",
            "dimensions": {"Pipeline": "orders"},
            "timestamp": _at(m),
        }
        for v, m in [(30, 1), (10, 3), (20, 2), (5, 3)]
    ]
    other = {
        "metricName": "RowsLoaded",
        "value": 999,
        "timestamp": _at(1),
        "dimensions": [{"name": "Pipeline", "value": "billing"}],
    }

    pushed = await _push(moto_url, [*metrics, other]).run(ctx)
    out = await _query(moto_url, statistic="Maximum", periodSeconds=60).run(ctx)

    assert pushed.count == 5
    assert [p.value for p in out.datapoints] == [10, 20, 30]
    assert out.datapoints[0].timestamp.startswith("2025-01-01T11:57:00")
    assert (out.count, out.latest) == (3, 30)
    assert out.datapoints[-1].unit == "Count"


async def test_push_defaults_timestamp_to_now(moto_url, tmp_path):
    ctx = make_run_context(tmp_path)
    await _push(
        moto_url,
        [
            {
                "metricName": "RowsLoaded",
                "value": 7,
                "dimensions": {"Pipeline": "orders"},
            }
        ],
    ).run(ctx)

    out = await _query(
        moto_url, statistic="Sum", startTime=_at(1), endTime=_at(-1)
    ).run(ctx)

    assert out.latest == 7
    assert out.latest_timestamp.startswith("2025-01-01T12:00:00")


async def test_query_returns_no_latest_when_window_is_empty(moto_url, tmp_path):
    out = await _query(moto_url, window="PT1H").run(make_run_context(tmp_path))

    assert (out.count, out.datapoints, out.latest) == (0, [], None)


async def test_query_fails_not_retryable_when_window_is_reversed(moto_url, tmp_path):
    task = _query(moto_url, startTime=_at(0), endTime=_at(5))

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert "StartTime must be less than the parameter EndTime" in err.value.message
    assert not err.value.retryable


def _auth(moto_url, after: str) -> None:
    request = urllib.request.Request(
        f"{moto_url}/moto-api/reset-auth",
        data=after.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request, timeout=5).read()


@pytest.fixture
def enforced_auth(moto_url):
    """moto checking access keys (off by default, and not undone by its reset)."""
    _auth(moto_url, "0")
    yield
    _auth(moto_url, "inf")


async def test_push_fails_not_retryable_with_unknown_access_key(
    moto_url, enforced_auth, tmp_path
):
    task = _push(
        moto_url,
        [{"metricName": "RowsLoaded", "value": 1}],
        accessKeyId="AKIAUNKNOWNKEY000000",
        secretKeyId="x" * 40,
        region=REGION,
    )

    with pytest.raises(TaskError) as err:
        await task.run(make_run_context(tmp_path))

    assert err.value.message.startswith("cloudwatch:PutMetricData Company/Pipelines")
    assert not err.value.retryable
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_url, region_name=REGION)
    _auth(moto_url, "inf")
    assert cloudwatch.list_metrics(Namespace="Company/Pipelines")["Metrics"] == []


def test_query_refuses_period_in_fractions_of_seconds():
    with pytest.raises(ValueError, match="whole number of seconds"):
        Query.model_validate({"namespace": "n", "metricName": "m", "period": "PT0.5S"})
