"""The `sluice executions` command group: list, show, events, logs, replay.

Every read first brings the views up to the log's head, so it sees every write made
before it. `--json` output is stable for scripts; each command's help lists its fields
(times are RFC 3339 UTC).

Errors (an unknown execution, a bad option) print one line on stderr and exit 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

import click
import msgspec

from sluice.cli.context import CliContext, pass_cli
from sluice.cli.runtime import default_actor
from sluice.core.errors import OrchestratorError
from sluice.projections import (
    ExecutionFilter,
    ExecutionRow,
    ReplayResult,
    TaskRunRow,
    catch_up,
    execution_events,
    get_execution,
    list_executions,
    parse_time,
    record_of,
    replay_execution,
)

F = TypeVar("F", bound=Callable[..., Any])


class AdminError(click.ClickException):
    """A user error in an admin command: one line on stderr, exit status 2."""

    exit_code = 2


def admin_errors(command: F) -> F:
    """Turn sluice's errors and bad values into `AdminError` (no traceback)."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OrchestratorError as err:
            raise AdminError(str(err)) from err

    return wrapper  # type: ignore[return-value]


class TimeType(click.ParamType):
    """A time option: relative (`7d`, `24h`, `30m`) or an ISO date or time."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        """Parse the value, relative to now."""
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(str(value), datetime.now(UTC))
        except ValueError as err:
            self.fail(str(err), param, ctx)


TIME = TimeType()


def fresh_log(cli: CliContext) -> Any:
    """The event log, with every view caught up to its head."""
    log = cli.event_log()
    catch_up(log)
    return log


def print_json(value: Any) -> None:
    """Print a value as one line of JSON."""
    click.echo(msgspec.json.encode(value).decode())


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows under headers in aligned columns."""
    cells = [[str(h) for h in headers]] + [
        ["" if v is None else str(v) for v in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo(
            "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        )


def when(at: datetime | None) -> str:
    """A time as `YYYY-MM-DD HH:MM:SS` UTC, or empty."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def took(ms: int | None) -> str:
    """A duration in ms, shortened for reading (850ms, 12.3s, 4m05s, 2h03m)."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}h{minute:02d}m" if hours else f"{minute}m{second:02d}s"


def _labels(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> dict[str, str]:
    labels = {}
    for value in values:
        key, sep, label = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", ctx, param)
        labels[key] = label
    return labels


@click.group("executions")
def executions() -> None:
    """Executions: list, inspect, read their events and logs, replay their state."""


@executions.command("list")
@click.option("--namespace", help="Only this namespace.")
@click.option("--flow", "flow_id", help="Only this flow id.")
@click.option("--state", "states", multiple=True, help="Only this state (repeatable).")
@click.option("--since", type=TIME, help="Created at or after (7d, 24h, 2025-01-31).")
@click.option("--until", type=TIME, help="Created before (7d, 24h, 2025-01-31).")
@click.option(
    "--label", "labels", multiple=True, callback=_labels, help="KEY=VALUE (repeatable)."
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--after", help="The cursor printed at the end of the previous page.")
@click.option(
    "--json", "as_json", is_flag=True, help="JSON for scripts (fields described above)."
)
@pass_cli
@admin_errors
def list_command(
    cli: CliContext, limit: int, after: str | None, as_json: bool, **where: Any
) -> None:
    """List executions, newest first, one page at a time.

    \b
    --json prints {"executions": [ROW...], "next_cursor": str|null}; pass next_cursor
    to --after for the next page. ROW: id, namespace, flow_id, revision, state,
    trigger_type, trigger_id, created_at, started_at, ended_at (RFC 3339 UTC),
    duration_ms, labels {key: value}, attempts, parent_execution_id,
    original_execution_id.
    """
    log = fresh_log(cli)
    page = list_executions(
        log.engine, ExecutionFilter(**where), limit=limit, after=after
    )
    if as_json:
        print_json(page)
        return
    print_table(_LIST_HEADERS, [_list_row(e) for e in page.executions])
    if page.next_cursor:
        click.echo(f"-- more: --after {page.next_cursor}")


_LIST_HEADERS = (
    "ID",
    "NAMESPACE",
    "FLOW",
    "STATE",
    "CREATED (UTC)",
    "DURATION",
    "TRIGGER",
)


def _list_row(e: ExecutionRow) -> tuple[object, ...]:
    trigger = e.trigger_id or e.trigger_type
    return (
        e.id,
        e.namespace,
        e.flow_id,
        e.state,
        when(e.created_at),
        took(e.duration_ms),
        trigger,
    )


@executions.command("show")
@click.argument("execution_id")
@click.option(
    "--json", "as_json", is_flag=True, help="JSON for scripts (fields described above)."
)
@pass_cli
@admin_errors
def show_command(cli: CliContext, execution_id: str, as_json: bool) -> None:
    """Show an execution and its task-run tree: states, durations, attempts, outputs.

    \b
    --json prints {"execution": ROW (as in list), "task_runs": [RUN...]}. RUN:
    task_run_id, task_id, parent_task_run_id, value, iteration, state, attempts,
    started_at, ended_at, duration_ms, worker, outputs (JSON text cut to 2000
    characters), error_type, message, child_execution_id.
    """
    detail = get_execution(fresh_log(cli).engine, execution_id)
    if as_json:
        print_json(detail)
        return
    e = detail.execution
    click.echo(f"{e.id}  {e.namespace}/{e.flow_id} rev {e.revision}  {e.state}")
    times = (
        f"{name} {when(at)}"
        for name, at in (
            ("created", e.created_at),
            ("started", e.started_at),
            ("ended", e.ended_at),
        )
        if at
    )
    click.echo("  ".join([*times, f"took {took(e.duration_ms) or '-'}"]))  # fmt: skip
    extras = {
        "attempt": e.attempts if e.attempts > 1 else None,
        "trigger": " ".join(filter(None, (e.trigger_type, e.trigger_id))),
        "labels": ", ".join(f"{k}={v}" for k, v in e.labels.items()),
        "parent": e.parent_execution_id, "original": e.original_execution_id,
    }  # fmt: skip
    for name, value in extras.items():
        if value:
            click.echo(f"{name}: {value}")
    click.echo("")
    headers = ("TASK", "STATE", "ATTEMPTS", "DURATION", "OUTPUTS / ERROR")
    print_table(headers, [_run_row(depth, r) for depth, r in _tree(detail.task_runs)])


def _run_row(depth: int, r: TaskRunRow) -> tuple[object, ...]:
    name = "  " * depth + r.task_id + (f"[{r.value}]" if r.value is not None else "")
    return (name, r.state, r.attempts, took(r.duration_ms), _short(_result(r)))


def _tree(runs: Sequence[TaskRunRow]) -> Iterator[tuple[int, TaskRunRow]]:
    """Task runs depth-first under their parents, each level in creation order."""
    children: dict[str | None, list[TaskRunRow]] = {}
    known = {r.task_run_id for r in runs}
    for run in runs:
        parent = run.parent_task_run_id if run.parent_task_run_id in known else None
        children.setdefault(parent, []).append(run)

    def walk(parent: str | None, depth: int) -> Iterator[tuple[int, TaskRunRow]]:
        for run in children.get(parent, []):
            yield depth, run
            yield from walk(run.task_run_id, depth + 1)

    return walk(None, 0)


def _result(run: TaskRunRow) -> str | None:
    """What a task run gave: its outputs if it went well, else why not."""
    if run.state in ("SUCCESS", "WARNING"):
        return run.outputs
    return run.message or run.outputs


def _short(text: str | None, width: int = 70) -> str:
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


@executions.command("events")
@click.argument("execution_id")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="JSON lines for scripts (fields described above).",
)
@pass_cli
@admin_errors
def events_command(cli: CliContext, execution_id: str, as_json: bool) -> None:
    """The execution's raw events, in order.

    \b
    --json prints one object a line: position, stream, version, type, actor,
    recorded_at, data, causation_id, correlation_id.
    """
    events = execution_events(cli.event_log(), execution_id)
    if as_json:
        for recorded in events:
            print_json(record_of(recorded))
        return
    print_table(
        ["POSITION", "VERSION", "RECORDED (UTC)", "TYPE", "ACTOR"],
        [(e.position, e.version, when(e.recorded_at), e.type, e.actor) for e in events],
    )


@executions.command("logs")
@click.argument("execution_id")
@pass_cli
@admin_errors
def logs_command(cli: CliContext, execution_id: str) -> None:
    """The execution's task-run log lines, oldest first."""
    log = cli.event_log()
    execution_events(log, execution_id)  # an unknown id is an error, not silence
    if not hasattr(log, "read_logs"):
        raise AdminError("this event store keeps no log lines")
    for line in log.read_logs(execution_id):
        where = f"{line.task_run_id or '-'}#{line.attempt}"
        level = _LEVELS.get(line.level, line.level)
        click.echo(f"{when(line.at)}  {level}  {where}  {line.message}")


_LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


@executions.command("replay")
@click.argument("execution_id")
@click.option(
    "--to", "to_version", type=click.IntRange(min=1), help="Up to event version N."
)
@click.option("--at", type=TIME, help="As it stood at this time (ISO, or 2h ago: 2h).")
@click.option("--as", "actor", help="Who looks (default: the OS user); audited.")
@click.option("--json", "as_json", is_flag=True, help="The folded state as JSON.")
@pass_cli
@admin_errors
def replay_command(
    cli: CliContext, execution_id: str, to_version: int | None, at: datetime | None,
    actor: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Re-fold an execution's events up to a point and show its state (no side effect).

    Folding its whole history must give what the views hold: a difference is printed
    on stderr and the command exits 1. `--json` prints execution_id, version, versions,
    recorded_at, complete, state (the fold's state) and mismatches.
    """
    if to_version is not None and at is not None:
        raise AdminError("give --to or --at, not both")
    who = f"user:{actor}" if actor else default_actor()
    result = replay_execution(cli.event_log(), execution_id, who, to_version, at)
    if as_json:
        print_json(result)
    else:
        _print_replay(result)
    for mismatch in result.mismatches:
        click.echo(f"MISMATCH: {mismatch}", err=True)
    if result.mismatches:
        raise click.exceptions.Exit(1)


def _print_replay(result: ReplayResult) -> None:
    state = result.state
    click.echo(
        f"{result.execution_id} as of event {result.version} of {result.versions} "
        f"({when(result.recorded_at)} UTC): {state['state']}"
    )
    runs = state["task_runs"].values()
    print_table(
        ("TASK RUN", "TASK", "STATE", "ATTEMPT", "MESSAGE"),
        [
            (r["id"], r["task_id"], r["state"], r["attempt"], _short(r["message"]))
            for r in runs
        ],
    )
    if result.complete and not result.mismatches:
        click.echo("(the whole history folds to what the views hold)")
