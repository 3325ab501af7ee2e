"""`sluice demo`: two AWS blueprints end to end against a local AWS emulator.

The demo starts the emulator (moto on 127.0.0.1) and a Slack stand-in, creates the
resources the blueprints name by default (so the shipped YAML runs as it is), drops
files under ``raw/clicks/`` and ``raw/orders/``, fires `s3-fanout-by-prefix`'s S3
trigger once and serves until every execution it started has ended (and the trigger
moved the files), then runs `glue-athena-dynamodb` once. It prints what AWS and Slack
saw and where to look next. Exit status 0 only if every execution succeeded.

The orders route runs `dbt build` (the ``dbt`` extra, dbt-duckdb) on a one-model
project the demo writes. Without dbt the demo drops only clicks files and says so,
rather than alter the blueprint or run a route that cannot succeed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import click

from sluice.blueprints.demo_resources import (
    DemoAws,
    SlackStandIn,
    dbt_available,
    demo_files,
    write_dbt_project,
)
from sluice.cli.blueprints import blueprint
from sluice.cli.context import CliContext, pass_cli
from sluice.cli.run import stop_when_settled
from sluice.cli.runtime import Runtime
from sluice.cli.server import Server
from sluice.core.events import ExecutionEnded, RecordedEvent, TriggerFired
from sluice.core.flow import Flow
from sluice.core.triggers import trigger_stream

LANDING, PIPELINE = "s3-fanout-by-prefix", "glue-athena-dynamodb"
ROWS_COUNTED = 1234
DEADLINE = 60.0
"""Seconds each blueprint gets before the demo gives up on it."""


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


async def fire_and_serve(
    runtime: Runtime, flow: Flow, deadline: float = DEADLINE
) -> list[str]:
    """Evaluate `flow`'s triggers once, then serve until each execution they started
    has ended and its trigger has acted on it (MOVE on SUCCESS); return their ids.

    Raises:
        TimeoutError: the executions did not all end within `deadline` seconds.
    """
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
    await asyncio.wait_for(server.run(stop), deadline)
    return started


def _fired(runtime: Runtime, flow: Flow) -> list[str]:
    streams = [trigger_stream(flow.namespace, flow.id, t.id) for t in flow.triggers]
    return [
        recorded.event.execution_id
        for stream in streams
        for recorded in runtime.log.read_stream(stream)
        if isinstance(recorded.event, TriggerFired)
    ]


@dataclass
class DemoResult:
    """What the demo ran: (execution id, flow id, state) per execution, and notes."""

    executions: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Every execution ran and ended SUCCESS."""
        states = [state for *_, state in self.executions]
        return bool(states) and set(states) == {"SUCCESS"}


async def run_demo(
    runtime: Runtime, aws: DemoAws, workdir: Path, echo: Callable[[str], None]
) -> DemoResult:
    """Create the resources, run both blueprints, return what ran."""
    result = DemoResult()
    files = demo_files(orders=dbt_available())
    if not any("/orders/" in key for key in files):
        result.notes.append(
            "dbt-duckdb is not installed (pip install 'sluice[dbt]'), so only "
            "raw/clicks/ files were dropped: the orders route runs dbt build"
        )
    clicks = [key for key in files if "/clicks/" in key]
    aws.create_landing([{"cleansed": 1, "key": key} for key in clicks])
    aws.create_pipeline(ROWS_COUNTED, 56789.25)
    aws.drop_files(files)
    echo(f"dropped {len(files)} files into s3://{aws.landing_bucket}/raw/")
    project = {"dbtProjectDir": str(write_dbt_project(workdir / "dbt-orders"))}
    source = with_variables(blueprint(LANDING).source, project)
    landing = runtime.flows.deploy(source, f"{LANDING}.yaml", actor="user:demo")
    echo(f"\n1. {LANDING}: the S3 trigger fires once per file")
    try:
        for execution_id in await fire_and_serve(runtime, landing):
            state = runtime.state(execution_id).state
            result.executions.append((execution_id, LANDING, state))
    except TimeoutError:
        result.notes.append(f"{LANDING} did not end within {DEADLINE:.0f}s")
    echo(f"\n2. {PIPELINE}: Glue, Athena ({ROWS_COUNTED} rows), DynamoDB")
    source = blueprint(PIPELINE).source
    pipeline = runtime.flows.deploy(source, f"{PIPELINE}.yaml", actor="user:demo")
    inputs = {"pollEvery": "PT0.2S"}
    execution_id = runtime.create_execution(
        pipeline, inputs, actor="user:demo", from_cli=False
    )
    try:
        await asyncio.wait_for(runtime.drive(execution_id, stop_when_settled), DEADLINE)
    except TimeoutError:
        result.notes.append(f"{PIPELINE} did not end within {DEADLINE:.0f}s")
    result.executions.append(
        (execution_id, PIPELINE, runtime.state(execution_id).state)
    )
    return result


def _print_aws(aws: DemoAws) -> None:
    from boto3.dynamodb.types import TypeDeserializer

    click.echo("\nIn AWS (the emulator):")
    for prefix in ("raw/", "processed/"):
        keys = ", ".join(aws.keys(prefix)) or "empty"
        click.echo(f"  s3://{aws.landing_bucket}/{prefix}: {keys}")
    typed = TypeDeserializer()
    for item in aws.client("dynamodb").scan(TableName="daily-metrics").get("Items", []):
        plain = {k: typed.deserialize(v) for k, v in item.items()}
        click.echo(f"  dynamodb daily-metrics: {json.dumps(plain, default=_number)}")


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _print_report(result: DemoResult, cli: CliContext) -> None:
    click.echo("\nExecutions:")
    for execution_id, flow_id, state in result.executions:
        click.echo(f"  {execution_id}  {flow_id:<22} {state}")
    for note in result.notes:
        click.echo(f"note: {note}")
    prefix = "sluice"
    if cli.data_dir != ".sluice":
        prefix += f" --data-dir {cli.data_dir}"
    if cli.db_url and cli.db_url != os.environ.get("SLUICE_DATABASE_URL"):
        prefix += " --db <the same URL>"
    first = result.executions[0][0] if result.executions else "<id>"
    where = cli.database_url.split("@")[-1]  # never print a password
    click.echo(f"\nThe history stays in {where}; look closer with:")
    for command in ("executions list", f"executions show {first}", "audit"):
        click.echo(f"  {prefix} {command}")


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
            workdir = Path(cli.data_dir).resolve() / "demo"
            result = asyncio.run(run_demo(runtime, aws, workdir, click.echo))
            _print_aws(aws)
    finally:
        slack.close()
    _print_report(result, cli)
    if not result.succeeded:
        click.echo("demo FAILED: not every execution succeeded", err=True)
        sys.exit(1)
