"""`sluice run`, `sluice executions resume|kill`: run executions in this process.

Exit codes: 0 SUCCESS or WARNING, 1 FAILED/KILLED/CANCELLED, 2 invalid flow or inputs,
3 PAUSED.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from sluice.cli.context import CliContext, pass_cli
from sluice.cli.runtime import Runtime, default_actor, parse_pairs, run_async
from sluice.core.errors import (
    ConcurrencyConflictError,
    FlowValidationError,
    InputError,
    InvalidCommandError,
)
from sluice.core.events import (
    ExecutionEnded,
    ExecutionKillRequested,
    ExecutionPaused,
    ExecutionResumed,
    NewEvent,
    RecordedEvent,
    TaskRunEnded,
    TaskRunFailed,
    TaskRunRetryScheduled,
    TaskRunSkipped,
    TaskRunStarted,
    TaskRunSucceeded,
)
from sluice.core.inputs import validate_inputs
from sluice.core.state import ExecutionState

EXIT = {"SUCCESS": 0, "WARNING": 0, "PAUSED": 3}


def exit_code(state: str) -> int:
    """The process exit code for an execution's state."""
    return EXIT.get(state, 1)


def stop_when_settled(state: ExecutionState) -> bool:
    """Ended, or paused waiting for a person."""
    return state.terminal or state.state == "PAUSED"


def execution_json(state: ExecutionState) -> dict[str, Any]:
    """The stable JSON shape of `sluice run --json`."""
    return {
        "id": state.id,
        "namespace": state.namespace,
        "flowId": state.flow_id,
        "flowRevision": state.flow_revision,
        "state": state.state,
        "outputs": state.outputs,
        "reason": state.reason,
        "taskRuns": [
            {
                "id": r.id,
                "taskId": r.task_id,
                "parentId": r.parent_id,
                "value": r.value,
                "state": r.state,
                "attempts": len(r.attempts),
                "outputs": r.outputs,
                "message": r.message,
            }
            for r in state.task_runs.values()
        ],
    }


class Progress:
    """Prints task runs as they start, retry and finish, and their log lines."""

    def __init__(self, runtime: Runtime, execution_id: str, quiet: bool) -> None:
        self.runtime, self.execution_id, self.quiet = runtime, execution_id, quiet
        self.last_log = 0

    def __call__(self, recorded: RecordedEvent) -> None:
        if self.quiet or not recorded.stream.endswith(self.execution_id):
            return
        event = recorded.event
        line = None
        match event:
            case TaskRunStarted(worker=worker) if worker != "scheduler":
                line = f"  ▶ {event.task_run_id} started (attempt {event.attempt})"
            case TaskRunSucceeded():
                line = f"  ✔ {event.task_run_id} {event.state}"
            case TaskRunFailed():
                line = f"  ✖ {event.task_run_id} attempt {event.attempt} failed: {event.message}"
            case TaskRunRetryScheduled():
                line = f"  ↻ {event.task_run_id} retry (attempt {event.attempt}) at {event.due:%H:%M:%S}"
            case TaskRunSkipped():
                line = f"  ⤼ {event.task_run_id} skipped: {event.reason}"
            case TaskRunEnded(state=state) if state != "SUCCESS":
                line = f"  ■ {event.task_run_id} {state} {event.message}".rstrip()
            case ExecutionPaused():
                line = f"  ⏸ paused at {event.task_run_id}: resume with `sluice executions resume {self.execution_id}`"
            case ExecutionResumed():
                line = f"  ⏵ resumed by {event.by}"
            case ExecutionEnded():
                line = f"■ {self.execution_id} {event.state} {event.reason}".rstrip()
        self.flush_logs()
        if line:
            click.echo(line)

    def flush_logs(self) -> None:
        read = getattr(self.runtime.log, "read_logs", None)
        if read is None:
            return
        for log_line in read(self.execution_id, self.last_log):
            self.last_log = max(self.last_log, log_line.id)
            level = logging.getLevelName(log_line.level)
            click.echo(f"    {log_line.task_run_id} {level}: {log_line.message}")


def finish(runtime: Runtime, state: ExecutionState, as_json: bool) -> None:
    """Print the result and exit with the state's code."""
    if as_json:
        click.echo(json.dumps(execution_json(state), default=str))
    else:
        click.echo(f"execution {state.id} {state.state}")
        if state.outputs:
            click.echo(f"outputs: {json.dumps(state.outputs, default=str)}")
    sys.exit(exit_code(state.state))


def open_runtime(cli: CliContext) -> Runtime:
    """The runtime for this invocation."""
    return Runtime.open(cli.event_log(), cli.data_dir)


@click.command("run")
@click.argument("flow_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--input", "-i", "inputs", multiple=True, help="KEY=VALUE, repeatable.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object at the end."
)
@click.option(
    "--as", "actor", default=None, help="Who starts it (default: the OS user)."
)
@pass_cli
def run(
    cli: CliContext,
    flow_file: str,
    inputs: tuple[str, ...],
    as_json: bool,
    actor: str | None,
) -> None:
    """Deploy FLOW_FILE, start an execution and run it here until it ends or pauses."""
    runtime = open_runtime(cli)
    with open(flow_file, encoding="utf-8") as handle:
        source = handle.read()
    who = f"user:{actor}" if actor else default_actor()
    try:
        flow = runtime.flows.deploy(source, flow_file, actor=who)
        execution_id = runtime.create_execution(flow, parse_pairs(inputs), actor=who)
    except FlowValidationError as err:
        click.echo(f"invalid flow:\n{err}", err=True)
        sys.exit(2)
    except (InputError, ValueError) as err:
        click.echo(f"invalid inputs: {err}", err=True)
        sys.exit(2)
    if not as_json:
        click.echo(
            f"execution {execution_id} of {flow.namespace}/{flow.id} (revision {flow.revision})"
        )
    progress = Progress(runtime, execution_id, quiet=as_json)
    state = run_async(runtime.drive(execution_id, stop_when_settled, progress))
    finish(runtime, state, as_json)


@click.command("resume")
@click.argument("execution_id")
@click.option("--input", "-i", "inputs", multiple=True, help="onResume KEY=VALUE.")
@click.option(
    "--as", "actor", default=None, help="Who approves (default: the OS user)."
)
@click.option(
    "--wait", is_flag=True, help="Run the execution on until it ends or pauses."
)
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def resume(
    cli: CliContext,
    execution_id: str,
    inputs: tuple[str, ...],
    actor: str | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Resume a paused execution, recording who approved it and with what inputs."""
    runtime = open_runtime(cli)
    who = f"user:{actor}" if actor else default_actor()
    try:
        resume_execution(runtime, execution_id, parse_pairs(inputs), who)
    except (InputError, InvalidCommandError, ValueError) as err:
        click.echo(f"cannot resume {execution_id}: {err}", err=True)
        sys.exit(2)
    click.echo(f"execution {execution_id} resumed by {who}", err=as_json)
    if wait:
        progress = Progress(runtime, execution_id, quiet=as_json)
        state = run_async(runtime.drive(execution_id, _settled_after_resume, progress))
        finish(runtime, state, as_json)


def _settled_after_resume(state: ExecutionState) -> bool:
    return state.terminal or (
        state.state == "PAUSED" and state.paused_task_run is not None
    )


def resume_execution(
    runtime: Runtime, execution_id: str, raw: dict[str, str], who: str
) -> None:
    """Validate the onResume inputs and append `ExecutionResumed`."""
    state = runtime.state(execution_id)
    if not state.id:
        raise InvalidCommandError(f"no execution {execution_id!r}")
    if state.state != "PAUSED" or state.paused_task_run is None:
        raise InvalidCommandError(f"execution is {state.state}, not PAUSED")
    flow = runtime.flows.get(state.namespace, state.flow_id, state.flow_revision)
    task = flow.task(state.task_runs[state.paused_task_run].task_id)
    specs = task.on_resume if task else ()
    values = validate_inputs(specs, raw, from_cli=True) if specs or raw else {}
    event = ExecutionResumed(
        task_run_id=state.paused_task_run, by=who.removeprefix("user:"), inputs=values
    )
    try:
        runtime.log.append(
            f"execution/{execution_id}",
            [NewEvent(event=event, actor=who)],
            state.version,
        )
    except ConcurrencyConflictError as err:
        raise InvalidCommandError("the execution changed meanwhile; try again") from err


@click.command("kill")
@click.argument("execution_id")
@click.option(
    "--as", "actor", default=None, help="Who kills it (default: the OS user)."
)
@pass_cli
def kill(cli: CliContext, execution_id: str, actor: str | None) -> None:
    """Kill an execution: running task runs are marked KILLED, nothing new starts."""
    runtime = open_runtime(cli)
    who = f"user:{actor}" if actor else default_actor()
    state = runtime.state(execution_id)
    if not state.id:
        click.echo(f"no execution {execution_id!r}", err=True)
        sys.exit(2)
    if state.terminal:
        click.echo(f"execution {execution_id} is already {state.state}", err=True)
        sys.exit(2)
    event = ExecutionKillRequested(by=who.removeprefix("user:"))
    runtime.log.append(
        f"execution/{execution_id}", [NewEvent(event=event, actor=who)], -1
    )
    final = run_async(runtime.drive(execution_id, lambda s: s.terminal))
    click.echo(f"execution {execution_id} {final.state}")


@click.group("flow")
def flow_group() -> None:
    """Validate flows and export their JSON Schema."""


@flow_group.command("validate")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False)
)
def validate(files: tuple[str, ...]) -> None:
    """Check flow files; list every problem with file, line and property."""
    from sluice.cli.runtime import load_plugins
    from sluice.core.flow import parse_flow

    load_plugins()
    bad = 0
    for path in files:
        with open(path, encoding="utf-8") as handle:
            try:
                flow = parse_flow(handle.read(), path)
                click.echo(
                    f"{path}: ok ({flow.namespace}/{flow.id}, {len(flow.index())} tasks)"
                )
            except FlowValidationError as err:
                bad += 1
                click.echo(str(err), err=True)
    sys.exit(2 if bad else 0)


@flow_group.command("schema")
def schema() -> None:
    """Print the JSON Schema of flow files (for editors)."""
    from sluice.cli.runtime import load_plugins
    from sluice.core.schema import flow_schema

    load_plugins()
    click.echo(json.dumps(flow_schema(), indent=2))


@click.command("restart")
@click.argument("execution_id")
@click.option(
    "--as", "actor", default=None, help="Who restarts it (default: the OS user)."
)
@click.option("--wait", is_flag=True, help="Run it here until it ends or pauses.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def restart(
    cli: CliContext, execution_id: str, actor: str | None, wait: bool, as_json: bool
) -> None:
    """Run the failed task runs of an ended execution again, in place, as new attempts."""
    from sluice.core.commands import restart_event

    runtime = open_runtime(cli)
    who = f"user:{actor}" if actor else default_actor()
    state = runtime.state(execution_id)
    if not state.id:
        click.echo(f"no execution {execution_id!r}", err=True)
        sys.exit(2)
    flow = runtime.flows.get(state.namespace, state.flow_id, state.flow_revision)
    try:
        event = restart_event(flow, state, who.removeprefix("user:"))
        runtime.log.append(
            f"execution/{execution_id}",
            [NewEvent(event=event, actor=who)],
            state.version,
        )
    except (InvalidCommandError, ConcurrencyConflictError) as err:
        click.echo(f"cannot restart {execution_id}: {err}", err=True)
        sys.exit(2)
    click.echo(
        f"execution {execution_id} restarted by {who} "
        f"(attempt {event.attempt_number}: {', '.join(event.task_run_ids)})",
        err=as_json,
    )
    if wait:
        progress = Progress(runtime, execution_id, quiet=as_json)
        final = run_async(runtime.drive(execution_id, stop_when_settled, progress))
        finish(runtime, final, as_json)


@click.command("replay-from")
@click.argument("execution_id")
@click.option("--task", "task_id", required=True, help="Run again from this task on.")
@click.option(
    "--input", "-i", "inputs", multiple=True, help="Changed inputs, KEY=VALUE."
)
@click.option(
    "--as", "actor", default=None, help="Who replays it (default: the OS user)."
)
@click.option("--latest", is_flag=True, help="Use the flow's newest revision.")
@click.option("--wait", is_flag=True, help="Run the new execution here.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def replay_from(
    cli: CliContext,
    execution_id: str,
    task_id: str,
    inputs: tuple[str, ...],
    actor: str | None,
    latest: bool,
    wait: bool,
    as_json: bool,
) -> None:
    """Start a new execution that keeps what ran before TASK and runs on from there."""
    runtime = open_runtime(cli)
    who = f"user:{actor}" if actor else default_actor()
    try:
        new_id = replay_execution(
            runtime, execution_id, task_id, parse_pairs(inputs), who, latest=latest
        )
    except (InvalidCommandError, InputError, ValueError) as err:
        click.echo(f"cannot replay {execution_id}: {err}", err=True)
        sys.exit(2)
    click.echo(
        f"execution {new_id} replays {execution_id} from {task_id!r}", err=as_json
    )
    if wait:
        progress = Progress(runtime, new_id, quiet=as_json)
        final = run_async(runtime.drive(new_id, stop_when_settled, progress))
        finish(runtime, final, as_json)
    elif as_json:
        click.echo(
            json.dumps({"id": new_id, "originalId": execution_id, "fromTask": task_id})
        )


def replay_execution(
    runtime: Runtime,
    execution_id: str,
    task_id: str,
    raw_inputs: dict[str, str],
    who: str,
    *,
    latest: bool = False,
) -> str:
    """Append a new execution replaying `execution_id` from `task_id`; return its id."""
    import uuid

    from sluice.core.commands import replay_events
    from sluice.core.context import INPUTS_VAULT_KEY
    from sluice.core.worker import SecretVault

    original = runtime.log.read_stream(f"execution/{execution_id}")
    if not original:
        raise InvalidCommandError(f"no execution {execution_id!r}")
    state = runtime.state(execution_id)
    flow = (
        runtime.flows.latest(state.namespace, state.flow_id)
        if latest
        else runtime.flows.get(state.namespace, state.flow_id, state.flow_revision)
    )
    assert flow is not None
    specs = [s for s in flow.inputs if s.id in raw_inputs]
    unknown = set(raw_inputs) - {s.id for s in flow.inputs}
    if unknown:
        raise InputError([f"unknown input {name!r}" for name in sorted(unknown)])
    merged = {**state.inputs, **validate_inputs(specs, raw_inputs, from_cli=True)}
    new_id = uuid.uuid4().hex[:16]
    events = replay_events(
        flow,
        original,
        task_id,
        new_id=new_id,
        by=who.removeprefix("user:"),
        inputs=merged,
    )
    vault = SecretVault(runtime.storage)
    for run in state.task_runs.values():
        if run.secret_outputs:
            vault.put(new_id, run.id, vault.get(execution_id, run.id))
    if secret_inputs := vault.get(execution_id, INPUTS_VAULT_KEY):
        vault.put(new_id, INPUTS_VAULT_KEY, secret_inputs)
    runtime.log.append(
        f"execution/{new_id}",
        [
            NewEvent(event=e, actor=who, correlation_id=execution_id)  # type: ignore[arg-type]
            for e in events
        ],
        0,
    )
    return new_id
