"""The S3 trigger through the engine: exactly one execution per object, across runners,
no starvation, and MOVE after success through a running server."""

from __future__ import annotations

import asyncio

import boto3
import pytest

from sluice.cli.server import Server
from sluice.core.triggers import TriggerRunner
from tests.engine.conftest import flow_source
from tests.plugins.aws.s3.conftest import all_keys, seed_objects

pytestmark = pytest.mark.aws


def s3_flow(moto_url: str, bucket: str, extra: str = "", task: str = "") -> str:
    return flow_source(f"""
        id: landing
        namespace: s3demo
        pluginDefaults:
          - type: aws
            values:
              endpointOverride: {moto_url}
              region: us-east-1
        triggers:
          - id: files
            type: aws.s3.Trigger
            bucket: {bucket}
            prefix: raw/
            interval: PT0S
            maxFiles: 25
            download: false
{extra}
        tasks:
          - id: seen
            type: core.Return
            format: "{{{{ trigger.key }}}}"
{task}
    """)


@pytest.fixture
def s3(moto_url):
    return boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")


def fired_keys(runtime) -> list[str]:
    events = runtime.log.read_stream("trigger/s3demo/landing/files")
    return [e.event.variables["key"] for e in events if e.type == "TriggerFired"]


async def test_two_runners_fire_each_of_1000_objects_exactly_once_25_per_poll(
    runtime, s3, moto_url, unique
):
    bucket = f"landing-{unique}"
    s3.create_bucket(Bucket=bucket)
    keys = [f"raw/{i:04d}.csv" for i in range(1000)]
    seed_objects(bucket, keys)
    seed_objects(bucket, ["other/ignored.csv"])
    flow = runtime.flows.deploy(s3_flow(moto_url, bucket))
    one = TriggerRunner(
        runtime.log, runtime.storage, runtime.clock, _renderer(runtime), "one"
    )
    two = TriggerRunner(
        runtime.log, runtime.storage, runtime.clock, _renderer(runtime), "two"
    )
    polls, created = 0, 0
    while polls < 200:
        polls += 1
        made = await one.tick([flow]) + await two.tick([flow])
        created += made
        if made == 0 and len(fired_keys(runtime)) == 1000:
            break
    fired = fired_keys(runtime)
    assert created == 1000
    assert sorted(fired) == keys
    assert len(set(fired)) == 1000
    assert polls >= 20  # 25 per poll and runner: nothing was starved or skipped ahead


async def test_server_moves_a_file_to_processed_only_after_its_execution_succeeds(
    runtime, s3, moto_url, unique
):
    bucket = f"moves-{unique}"
    s3.create_bucket(Bucket=bucket)
    for key in ("raw/good/a.csv", "raw/bad/b.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"1,2,3")
    extra = """            action: MOVE
            actionOn: SUCCESS
            moveTo:
              key: processed/"""
    task = """          - id: check
            type: core.Fail
            condition: "{{ trigger.key.startswith('raw/bad/') }}"
            errorMessage: bad file"""
    flow_text = s3_flow(moto_url, bucket, extra, task)
    runtime.flows.deploy(flow_text)
    server = Server(runtime, trigger_interval=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(server.run(stop))
    try:
        for _ in range(200):
            await asyncio.sleep(0.05)
            if "processed/good/a.csv" in all_keys(s3, bucket):
                break
        await asyncio.sleep(0.3)
    finally:
        stop.set()
        await running
    keys = all_keys(s3, bucket)
    assert "processed/good/a.csv" in keys and "raw/good/a.csv" not in keys
    assert "raw/bad/b.csv" in keys and "processed/bad/b.csv" not in keys
    states = sorted(s.state for s in server.scheduler.executions.values())
    assert states == ["FAILED", "SUCCESS"]


def _renderer(runtime):
    from sluice.core.expressions import Renderer

    return Renderer(now=runtime.clock.now)


async def test_a_failing_trigger_is_recorded_once_and_does_not_stop_the_others(
    runtime, s3, moto_url, unique
):
    bucket = f"present-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="raw/x.csv", Body=b"x")
    broken = runtime.flows.deploy(
        s3_flow(moto_url, f"missing-{unique}").replace("id: landing", "id: broken")
    )
    working = runtime.flows.deploy(s3_flow(moto_url, bucket))
    runner = TriggerRunner(
        runtime.log, runtime.storage, runtime.clock, _renderer(runtime)
    )
    assert await runner.tick([broken, working]) == 1
    assert await runner.tick([broken, working]) == 0
    failures = [
        e.event
        for e in runtime.log.read_stream("trigger/s3demo/broken/files")
        if e.type == "TriggerEvaluationFailed"
    ]
    assert len(failures) == 1
    assert "NoSuchBucket" in failures[0].message
    assert fired_keys(runtime) == ["raw/x.csv"]


async def test_secret_from_aws_secrets_manager_is_used_but_never_stored(
    runtime, moto_url, monkeypatch
):
    from sluice.cli.run import stop_when_settled

    value = "sm-secret-4242-value"
    boto3.client(
        "secretsmanager", endpoint_url=moto_url, region_name="us-east-1"
    ).create_secret(Name="sluice/API_TOKEN", SecretString=value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("SLUICE_SECRETS_MANAGER_PREFIX", "sluice/")
    flow = runtime.flows.deploy(
        flow_source("""
        id: sm
        namespace: s3demo
        tasks:
          - id: check
            type: core.If
            condition: "{{ secret('API_TOKEN').startswith('sm-secret-') and secret('API_TOKEN') | length == 20 }}"
            then:
              - id: echo
                type: core.Return
                format: "token is {{ secret('API_TOKEN') }}"
    """)
    )
    execution_id = runtime.create_execution(flow, {}, actor="user:t", from_cli=False)
    state = await runtime.drive(execution_id, stop_when_settled)
    assert state.state == "SUCCESS"
    assert state.task_runs["check"].outputs == {"evaluationResult": True}
    assert state.task_runs["echo"].outputs == {"value": "token is ******"}
    assert value not in str(runtime.log.read_all(0, 100_000))
