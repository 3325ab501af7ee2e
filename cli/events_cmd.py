"""The `sluice events` command group: the raw log as it grows.

`tail --json` is stable for scripts: `sluice events tail --help` lists its fields.
"""

from __future__ import annotations

from collections.abc import Sequence

import click
import msgspec

from sluice.cli.context import CliContext, pass_cli
from sluice.cli.executions import admin_errors, print_json, when
from sluice.core.events import EVENT_TYPES, RecordedEvent
from sluice.projections import record_of, start_for_last, tail


@click.group("events")
def events() -> None:
    """The raw event log."""


def _types(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> list[str]:
    unknown = sorted(set(values) - set(EVENT_TYPES))
    if unknown:
        known = ", ".join(sorted(EVENT_TYPES))
        raise click.BadParameter(
            f"unknown {', '.join(unknown)} (known: {known})", ctx, param
        )
    return list(values)


@events.command("tail")
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing new events (Ctrl-C stops)."
)
@click.option(
    "--type",
    "types",
    multiple=True,
    callback=_types,
    help="Only this type (repeatable).",
)
@click.option(
    "--stream", "stream_prefix", help="Only streams starting with this (execution/)."
)
@click.option("--after", type=click.IntRange(min=0), help="Start after this position.")
@click.option(
    "--last",
    default=20,
    show_default=True,
    help="Without --after: start this many events back.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="JSON lines for scripts (fields described above).",
)
@pass_cli
@admin_errors
def tail_command(
    cli: CliContext, follow: bool, types: list[str], stream_prefix: str | None,
    after: int | None, last: int, as_json: bool,
) -> None:  # fmt: skip
    """Print the log's events in order, from a position or the last few.

    \b
    --json prints one object a line: position, stream, version, type, actor,
    recorded_at, data, causation_id, correlation_id.
    """
    log = cli.event_log()
    start = after if after is not None else start_for_last(log, last)
    try:
        for recorded in tail(
            log, start, types, stream_prefix, follow=follow, interval=0.2
        ):
            if as_json:
                print_json(record_of(recorded))
            else:
                click.echo(_line(recorded))
    except KeyboardInterrupt:
        return  # Ctrl-C is how one stops following: not an error


def _line(recorded: RecordedEvent) -> str:
    data = msgspec.json.encode(record_of(recorded).data).decode()
    data = data if len(data) <= 80 else data[:79] + "…"
    at, where = when(recorded.recorded_at), f"{recorded.stream} v{recorded.version}"
    return (
        f"{recorded.position}  {at}  {where}  {recorded.type}  {recorded.actor}  {data}"
    )
