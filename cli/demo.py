"""`sluice demo`: two AWS blueprints end to end against a local AWS emulator.

The demo starts the emulator (moto on 127.0.0.1) and a Slack stand-in, creates the
resources the blueprints name by default (so the shipped YAML runs as it is), drops
files under ``raw/orders/`` and ``raw/clicks/``, fires `s3-fanout-by-prefix`'s S3
trigger once and serves until every execution it started has ended (and the trigger
moved the files), then runs `glue-athena-dynamodb` once. It prints what AWS and Slack
saw and where to look next. Exit status 0 only if every execution succeeded.

The orders route needs dbt (the ``dbt`` extra, dbt-duckdb). Without it the demo drops
only clicks files and says so, rather than run a route that cannot succeed: the
blueprint itself is never altered beyond pointing it at a local dbt project.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from sluice.cli.blueprints import blueprint
from sluice.cli.context import CliContext, pass_cli
from sluice.cli.run import stop_when_settled
from sluice.cli.runtime import Runtime
from sluice.cli.server import Server
from sluice.core.events import ExecutionEnded, RecordedEvent, TriggerFired
from sluice.core.flow import Flow
from sluice.core.state import ExecutionState
from sluice.core.triggers import trigger_stream

LANDING = "s3-fanout-by-prefix"
PIPELINE = "glue-athena-dynamodb"
ROWS_COUNTED = 1234
_DBT_MODULES = ("dbt.cli.main", "dbt.adapters.duckdb")


def dbt_available() -> bool:
    """Whether dbt-core and dbt-duckdb are importable (the ``dbt`` extra)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in _DBT_MODULES)
    except ModuleNotFoundError:
        return False


def with_variables(source: str, values: dict[str, str]) -> str:
    """`source` with top-level `variables` entries replaced, comments kept.

    Raises:
        KeyError: a name in `values` is not a variable of the flow.
    """
    lines = source.splitlines(keepends=True)
    inside, done = False, set()
    for i, line in enumerate(lines):
        if line.startswith("variables:"):
            inside = True
        elif inside and line.strip() and not line.startswith((" ", "#")):
            inside = False
        elif inside and (match := re.match(r"^  (\w+):", line)) and match[1] in values:
            lines[i] = f"  {match[1]}: {json.dumps(values[match[1]])}\n"
            done.add(match[1])
    if missing := set(values) - done:
        raise KeyError(f"not variables of this flow: {', '.join(sorted(missing))}")
    return "".join(lines)


def write_dbt_project(folder: Path) -> Path:
    """A one-model dbt-duckdb project that records the file it was built for."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(
        "name: demo_orders\nversion: '1.0'\nconfig-version: 2\nprofile: demo_orders\n"
        "model-paths: [models]\n", encoding="utf-8",
    )  # fmt: skip
    database = json.dumps(str(folder / "orders.duckdb"))
    (folder / "profiles.yml").write_text(
        "demo_orders:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {database}\n      threads: 1\n", encoding="utf-8",
    )  # fmt: skip
    (folder / "models" / "orders_landed.sql").write_text(
        "select '{{ var(\"orders_uri\") }}' as orders_uri,\n"
        "       '{{ var(\"execution_id\") }}' as execution_id,\n"
        "       current_timestamp as built_at\n", encoding="utf-8",
    )  # fmt: skip
    (folder / "models" / "schema.yml").write_text(
        "version: 2\nmodels:\n  - name: orders_landed\n    columns:\n"
        "      - name: orders_uri\n        data_tests: [not_null]\n", encoding="utf-8",
    )  # fmt: skip
    return folder


async def fire_and_serve(
    runtime: Runtime, flow: Flow, timeout: float = 60.0
) -> list[str]:
    """Evaluate `flow`'s triggers once, then serve until each execution they started
    has ended and its trigger has acted on it (MOVE on SUCCESS); return their ids."""
    server = Server(runtime, trigger_interval=3600.0)
    before = _fired(runtime, flow)
    await server.triggers.tick([flow])
    started = [e for e in _fired(runtime, flow) if e not in before]
    pending = set(started)
    if not pending:
        return []
    stop = asyncio.Event()

    def watch(recorded: RecordedEvent) -> None:
        if isinstance(recorded.event, ExecutionEnded):
            pending.discard(recorded.stream.removeprefix("execution/"))
            if not pending:
                stop.set()

    server.scheduler.listeners.append(watch)
    await asyncio.wait_for(server.run(stop), timeout)
    return started


def _fired(runtime: Runtime, flow: Flow) -> list[str]:
    ids = []
    for trigger in flow.triggers:
        for recorded in runtime.log.read_stream(
            trigger_stream(flow.namespace, flow.id, trigger.id)
        ):
            if isinstance(recorded.event, TriggerFired):
                ids.append(recorded.event.execution_id)
    return ids


class DemoAws:
    """boto3 clients on the emulator, and the resources the blueprints' defaults name."""

    account, region = "123456789012", "us-east-1"
    landing_bucket = "my-landing-bucket"

    def __init__(self, url: str) -> None:
        import boto3

        self.url = url
        self.session = boto3.session.Session(region_name=self.region)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        """A client for `service` on the emulator."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.url)
        return self._clients[service]

    def moto_api(self, path: str, payload: object) -> None:
        """POST JSON to the emulator's /moto-api (canned results, configuration)."""
        import urllib.request

        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
            answer.read()

    def create_landing(self, lambda_answers: list[dict[str, Any]]) -> None:
        """The landing bucket, SNS topic and cleansing Lambda of `s3-fanout-by-prefix`.

        The emulator runs no Lambda code: each invoke returns the next canned answer.
        """
        import io
        import zipfile

        self.client("s3").create_bucket(Bucket=self.landing_bucket)
        self.client("sns").create_topic(Name="landing-processed")
        role = self.client("iam").create_role(
            RoleName="clickstream-cleanse", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"}}]}),
        )["Role"]["Arn"]  # fmt: skip
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr(
                "handler.py", "def handler(event, context):\n    return event\n"
            )
        self.client("lambda").create_function(
            FunctionName="clickstream-cleanse", Runtime="python3.11", Role=role,
            Handler="handler.handler", Code={"ZipFile": code.getvalue()},
        )  # fmt: skip
        self.moto_api("/moto-api/config", {"lambda": {"use_docker": False}})
        self.moto_api("/moto-api/static/lambda-simple/response", {
            "account_id": self.account, "region": self.region,
            "results": [json.dumps(answer) for answer in lambda_answers]})  # fmt: skip

    def create_pipeline(self, row_count: int, total_amount: float) -> None:
        """The Glue job, Athena result, DynamoDB table and topic of `glue-athena-dynamodb`.

        Athena answers the row-count query with `row_count` and `total_amount`.
        """
        self.client("glue").create_job(
            Name="daily-sales-etl", Role=f"arn:aws:iam::{self.account}:role/glue-etl",
            Command={"Name": "glueetl", "ScriptLocation": "s3://my-glue-scripts/etl.py"},
        )  # fmt: skip
        self.client("s3").create_bucket(Bucket="my-athena-results")
        self.client("sns").create_topic(Name="oncall-pages")
        keys = [("metric", "HASH"), ("day", "RANGE")]
        self.client("dynamodb").create_table(
            TableName="daily-metrics", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
        )  # fmt: skip
        cells = [["row_count", "total_amount"], [str(row_count), str(total_amount)]]
        self.moto_api("/moto-api/static/athena/query-results", {
            "account_id": self.account, "region": self.region, "results": [{
                "rows": [{"Data": [{"VarCharValue": c} for c in row]} for row in cells],
                "column_info": [{"Name": "row_count", "Type": "bigint"},
                                {"Name": "total_amount", "Type": "double"}]}]})  # fmt: skip

    def drop_files(self, keys: dict[str, str]) -> None:
        """Upload each key's text into the landing bucket."""
        for key, text in keys.items():
            self.client("s3").put_object(
                Bucket=self.landing_bucket, Key=key, Body=text.encode()
            )

    def keys(self, prefix: str) -> list[str]:
        """The landing bucket's keys under `prefix`."""
        listed = self.client("s3").list_objects_v2(
            Bucket=self.landing_bucket, Prefix=prefix
        )
        return [item["Key"] for item in listed.get("Contents", [])]


class SlackStandIn:
    """A local stand-in for a Slack incoming webhook: answers `ok`, prints each message."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.texts: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    text = str(json.loads(body).get("text", body.decode()))
                except (ValueError, AttributeError):
                    text = body.decode(errors="replace")
                stand_in.texts.append(text)
                echo(f"  slack ◂ {text}")
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the messages are echoed instead."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.webhook_url = f"http://{host}:{port}/services/DEMO/DEMO/demo"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)  # fmt: skip
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


@dataclass
class DemoResult:
    """What the demo ran: (execution id, flow id, state) per execution, and notes."""

    executions: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Every execution ran and ended SUCCESS."""
        return bool(self.executions) and all(
            s == "SUCCESS" for *_, s in self.executions
        )


@contextmanager
def _emulator() -> Iterator[str]:
    from sluice.cli.emulator_env import start_emulator_env
    from sluice.plugins.aws._connection import clear_caches

    emulator = start_emulator_env()
    clear_caches()  # clients built before now would miss the emulator's endpoint
    try:
        yield str(emulator.url)
    finally:
        emulator.stop()


def demo_files(orders: bool) -> dict[str, str]:
    """The files the demo drops under raw/: clicks always, orders when dbt is there."""
    files = {
        "raw/clicks/2026-01-31/clicks-0001.json": '{"user": 7, "page": "/cart"}\n',
        "raw/clicks/2026-01-31/clicks-0002.json": '{"user": 9, "page": "/pay"}\n',
    }
    if orders:
        files["raw/orders/2026-01-31/orders-0001.csv"] = "id,amount\n1,12.50\n2,7.25\n"
    return files


async def run_demo(
    runtime: Runtime, aws: DemoAws, workdir: Path, echo: Callable[[str], None]
) -> DemoResult:
    """Create the resources, run both blueprints, return what ran."""
    result = DemoResult()
    orders = dbt_available()
    if not orders:
        result.notes.append("dbt-duckdb is not installed (pip install 'sluice[dbt]'): only "
                            "raw/clicks/ files were dropped; the orders route needs dbt")  # fmt: skip
    files = demo_files(orders)
    aws.create_landing([{"cleansed": 1, "forwardedTo": "kinesis:clickstream-clean", "key": k}
                        for k in files if "/clicks/" in k])  # fmt: skip
    aws.create_pipeline(ROWS_COUNTED, 56789.25)
    aws.drop_files(files)
    echo(f"dropped {len(files)} files into s3://{aws.landing_bucket}/raw/")
    dbt_dir = write_dbt_project(workdir / "dbt-orders")
    landing = runtime.flows.deploy(with_variables(blueprint(LANDING).source,
                                                  {"dbtProjectDir": str(dbt_dir)}),
                                   f"{LANDING}.yaml", actor="user:demo")  # fmt: skip
    echo(f"\n1. {LANDING}: S3 trigger fires once per file")
    for execution_id in await fire_and_serve(runtime, landing):
        result.executions.append(
            (execution_id, LANDING, runtime.state(execution_id).state)
        )
    echo(f"\n2. {PIPELINE}: Glue, Athena ({ROWS_COUNTED} rows), DynamoDB")
    pipeline = runtime.flows.deploy(blueprint(PIPELINE).source, f"{PIPELINE}.yaml",
                                    actor="user:demo")  # fmt: skip
    execution_id = runtime.create_execution(pipeline, {"pollEvery": "PT0.2S"},
                                            actor="user:demo", from_cli=False)  # fmt: skip
    state: ExecutionState = await asyncio.wait_for(
        runtime.drive(execution_id, stop_when_settled), 60
    )
    result.executions.append((execution_id, PIPELINE, state.state))
    return result


def _print_aws(aws: DemoAws) -> None:
    click.echo("\nIn AWS (the emulator):")
    for prefix in ("raw/", "processed/"):
        keys = aws.keys(prefix)
        click.echo(
            f"  s3://{aws.landing_bucket}/{prefix}: {', '.join(keys) or 'empty'}"
        )
    for item in aws.client("dynamodb").scan(TableName="daily-metrics").get("Items", []):
        flat = {k: next(iter(v.values())) for k, v in item.items()}
        click.echo(f"  dynamodb daily-metrics: {json.dumps(flat)}")


def _print_report(result: DemoResult, data_dir: str) -> None:
    click.echo("\nExecutions:")
    for execution_id, flow_id, state in result.executions:
        click.echo(f"  {execution_id}  {flow_id:<22} {state}")
    for note in result.notes:
        click.echo(f"note: {note}")
    prefix = "sluice" if data_dir == ".sluice" else f"sluice --data-dir {data_dir}"
    first = result.executions[0][0] if result.executions else "<id>"
    click.echo("\nLook closer (the history stays in "
               f"{os.path.abspath(data_dir)}):\n  {prefix} executions list\n"
               f"  {prefix} executions show {first}\n  {prefix} audit")  # fmt: skip


@click.command("demo")
@pass_cli
def demo(cli: CliContext) -> None:
    """Run two AWS blueprints end to end against a local AWS emulator (no account)."""
    runtime = Runtime.open(cli.event_log(), cli.data_dir)
    slack = SlackStandIn(click.echo)
    os.environ["SECRET_SLACK_WEBHOOK"] = slack.webhook_url  # never a real Slack
    try:
        with _emulator() as url:
            click.echo(f"AWS emulator on {url}; Slack stand-in on {slack.webhook_url}")
            aws = DemoAws(url)
            workdir = Path(cli.data_dir) / "demo"
            result = asyncio.run(run_demo(runtime, aws, workdir, click.echo))
            _print_aws(aws)
    finally:
        slack.close()
    _print_report(result, cli.data_dir)
    if not result.succeeded:
        click.echo("demo FAILED: not every execution succeeded", err=True)
        sys.exit(1)
