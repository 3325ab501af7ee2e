"""The `sluice` command: options shared by every command, and the command groups."""

from __future__ import annotations

import os

import click

from sluice.cli.audit import audit
from sluice.cli.blueprints import blueprints
from sluice.cli.context import CliContext
from sluice.cli.demo import demo
from sluice.cli.events_cmd import events
from sluice.cli.executions import executions
from sluice.cli.projections_cmd import projections
from sluice.cli.run import flow_group, kill, replay_from, restart, resume, run
from sluice.cli.server import server


@click.group()
@click.option(
    "--data-dir",
    default=lambda: os.environ.get("SLUICE_DATA_DIR", ".sluice"),
    show_default=".sluice",
    help="Where SQLite and local storage live.",
)
@click.option(
    "--db",
    "db_url",
    default=lambda: os.environ.get("SLUICE_DATABASE_URL"),
    help="Database URL (default: SQLite in the data dir). Env: SLUICE_DATABASE_URL.",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: str, db_url: str | None) -> None:
    """sluice: an event-sourced workflow orchestrator for AWS."""
    state = CliContext(data_dir=data_dir, db_url=db_url)
    ctx.obj = state
    ctx.call_on_close(state.close)


cli.add_command(run)
cli.add_command(blueprints)
cli.add_command(demo)
cli.add_command(server)
cli.add_command(flow_group)
cli.add_command(executions)
executions.add_command(resume)
executions.add_command(kill)
executions.add_command(restart)
executions.add_command(replay_from)
cli.add_command(audit)
cli.add_command(projections)
cli.add_command(events)


def main() -> None:
    """Console entry point."""
    cli(prog_name="sluice")
