"""The `sluice audit` command: who did what, when; and `sluice audit verify`.

    sluice audit --action resume --flow rotate-keys --since 7d   # who approved it
    sluice audit --actor alice --json

`--json` is stable for scripts: `sluice audit --help` lists its fields and actions.
"""

from __future__ import annotations

from datetime import datetime

import click
import msgspec

from sluice.cli.context import CliContext, pass_cli
from sluice.cli.executions import (
    TIME,
    admin_errors,
    fresh_log,
    print_json,
    print_table,
    when,
)
from sluice.projections import AuditFilter, AuditRow, search_audit


@click.group("audit", invoke_without_command=True)
@click.option(
    "--actor", help="Who: user:alice, api:ci, trigger:ns/flow/id (alice = user:alice)."
)
@click.option("--execution", "execution_id", help="Only actions on this execution.")
@click.option(
    "--flow", "flow_id", help="Only actions on this flow's executions and deploys."
)
@click.option("--action", help="resume, kill, restart, replay, deploy, trigger, …")
@click.option("--since", type=TIME, help="At or after (7d, 24h, 2025-01-31).")
@click.option("--until", type=TIME, help="Before (7d, 24h, 2025-01-31).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--after", type=int, help="The position printed at the end of the last page."
)
@click.option(
    "--json", "as_json", is_flag=True, help="JSON for scripts (fields described above)."
)
@click.pass_context
@admin_errors
def audit(
    ctx: click.Context,
    limit: int,
    after: int | None,
    as_json: bool,
    **where: str | datetime | None,
) -> None:
    """Who did what, when: operator and trigger actions, newest first.

    \b
    sluice audit --action resume --flow rotate-keys --since 7d   # who approved it
    Actions: create, replay, resume, kill, restart, deploy, trigger.fire,
    trigger.action, and recorded operator actions (replay.view,
    projection.rebuild); --action X also matches X.<anything>.
    --json prints {"entries": [ENTRY...], "next_after": int|null}; ENTRY:
    position, at (RFC 3339 UTC), actor, action, execution_id, namespace,
    flow_id, detail {...}, address. Pass next_after to --after.
    """
    if ctx.invoked_subcommand is not None:
        return
    cli: CliContext = ctx.find_object(CliContext)
    log = fresh_log(cli)
    page = search_audit(log.engine, AuditFilter(**where), limit=limit, after=after)  # type: ignore[arg-type]
    if as_json:
        print_json(page)
        return
    headers = ("POSITION", "AT (UTC)", "ACTOR", "ACTION", "EXECUTION", "FLOW", "DETAIL")
    print_table(headers, [_row(entry) for entry in page.entries])
    if page.next_after is not None:
        click.echo(f"-- more: --after {page.next_after}")


def _row(entry: AuditRow) -> tuple[object, ...]:
    flow = f"{entry.namespace}/{entry.flow_id}" if entry.flow_id else ""
    detail = msgspec.json.encode(entry.detail).decode() if entry.detail else ""
    if len(detail) > 60:
        detail = detail[:59] + "…"
    return (entry.position, when(entry.at), entry.actor, entry.action,
            entry.execution_id, flow, detail)  # fmt: skip


@audit.command("verify")
@pass_cli
@admin_errors
def verify(cli: CliContext) -> None:
    """Check every stream's hash chain; exit 1 and name the first altered event."""
    report = cli.event_log().verify()
    if report.ok:
        click.echo(f"ok: {report.checked} events checked, no event was altered")
        return
    click.echo(
        f"ALTERED: event at position {report.first_bad_position} "
        f"(stream {report.first_bad_stream}, version {report.first_bad_version}): "
        f"{report.reason}; {report.checked} events checked",
        err=True,
    )
    raise click.exceptions.Exit(1)
