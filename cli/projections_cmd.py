"""The `sluice projections` command group: how far each view is, and rebuilding one.

`--json` is stable for scripts: each command's help lists its fields.
"""

from __future__ import annotations

import click

from sluice.cli.context import CliContext, pass_cli
from sluice.cli.executions import admin_errors, print_json, print_table, when
from sluice.cli.runtime import default_actor
from sluice.projections import ProjectionRunner, rebuild


@click.group("projections")
def projections() -> None:
    """Views built from the log: status and rebuild."""


@projections.command("status")
@click.option(
    "--json", "as_json", is_flag=True, help="JSON for scripts (fields described above)."
)
@pass_cli
@admin_errors
def status(cli: CliContext, as_json: bool) -> None:
    """Each view's checkpoint against the log's head, and how far behind it is.

    --json prints [{"name", "position", "head", "lag", "updated_at"}...].
    """
    rows = ProjectionRunner(cli.event_log()).status()
    if as_json:
        print_json(rows)
        return
    print_table(
        ("PROJECTION", "POSITION", "HEAD", "LAG", "UPDATED (UTC)"),
        [(s.name, s.position, s.head, s.lag, when(s.updated_at)) for s in rows],
    )


@projections.command("rebuild")
@click.argument("name")
@click.option("--as", "actor", help="Who asks (default: the OS user); audited.")
@click.option(
    "--json", "as_json", is_flag=True, help="JSON for scripts (fields described above)."
)
@pass_cli
@admin_errors
def rebuild_command(
    cli: CliContext, name: str, actor: str | None, as_json: bool
) -> None:
    """Recompute view NAME from the whole log, then swap it in (writers keep going).

    --json prints {"name", "position", "events", "seconds"}.
    """
    who = f"user:{actor}" if actor else default_actor()
    report = rebuild(cli.event_log(), name, actor=who)
    if as_json:
        print_json(report)
        return
    click.echo(
        f"rebuilt {report.name}: {report.events} events up to position "
        f"{report.position} in {report.seconds:.2f}s"
    )
