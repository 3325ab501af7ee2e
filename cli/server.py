"""`sluice server`: deploy a folder of flows, run their triggers, the scheduler and the
workers until SIGTERM; then finish or give back in-flight attempts (never lose them)."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import signal
import sys
from typing import Any

import click

from sluice.cli.context import CliContext, pass_cli
from sluice.cli.runtime import Runtime, run_async
from sluice.core.errors import FlowValidationError
from sluice.core.events import ExecutionEnded, FlowDeployed, RecordedEvent
from sluice.core.flow import Flow
from sluice.core.scheduler import Scheduler
from sluice.core.triggers import TriggerRunner

logger = logging.getLogger("sluice.server")


def deploy_folder(runtime: Runtime, folder: str) -> list[Flow]:
    """Deploy every *.yaml/*.yml in `folder`; all problems of all files at once."""
    flows, problems = [], []
    paths = sorted(glob.glob(os.path.join(folder, "*.y*ml")))
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            try:
                flows.append(runtime.flows.deploy(handle.read(), path, actor="server"))
            except FlowValidationError as err:
                problems.extend(err.problems)
    if problems:
        raise FlowValidationError(problems)
    return flows


def watched_buckets(flows: list[Flow]) -> list[str]:
    """Buckets that the flows' S3 triggers watch or move to (literal names only)."""
    found: set[str] = set()
    for flow in flows:
        for trigger in flow.triggers:
            if trigger.type != "aws.s3.Trigger":
                continue
            move_to = trigger.props.get("moveTo") or {}
            for name in (trigger.props.get("bucket"), move_to.get("bucket")):
                if isinstance(name, str) and "{{" not in name:
                    found.add(name)
    return sorted(found)


class Server:
    """The long-running process: scheduler, workers, triggers, projections."""

    def __init__(self, runtime: Runtime, trigger_interval: float = 1.0) -> None:
        self.runtime = runtime
        self.scheduler: Scheduler = runtime.scheduler()
        self.triggers = TriggerRunner(
            runtime.log,
            runtime.storage,
            runtime.clock,
            self.scheduler.renderer,
            runtime.worker_id,
        )
        self.trigger_interval = trigger_interval
        self.flows: dict[tuple[str, str], Flow] = {}
        self.pending: set[asyncio.Task[Any]] = set()
        self.scheduler.listeners.append(self.observe)

    def refresh_flows(self) -> None:
        for flow in self.runtime.flows.all_latest():
            self.flows[(flow.namespace, flow.id)] = flow

    def observe(self, recorded: RecordedEvent) -> None:
        event = recorded.event
        if isinstance(event, FlowDeployed):
            self.refresh_flows()
        elif isinstance(event, ExecutionEnded):
            state = self.scheduler.executions.get(recorded.stream.split("/", 1)[1])
            trigger = state.trigger if state else None
            if state is None or not trigger or "id" not in trigger:
                return
            flow = self.flows.get((state.namespace, state.flow_id))
            definition = (
                next((t for t in flow.triggers if t.id == trigger["id"]), None)
                if flow
                else None
            )
            if flow and definition:
                task = asyncio.get_running_loop().create_task(
                    self.triggers.after_execution(
                        flow, definition, state.id, dict(trigger), event.state
                    )
                )
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)

    async def trigger_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.triggers.tick(list(self.flows.values()))
            except Exception:
                logger.exception("trigger evaluation failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.trigger_interval)

    async def projection_loop(self, stop: asyncio.Event) -> None:
        try:
            from sluice.projections.runner import ProjectionRunner
        except ImportError:
            return
        try:
            runner = ProjectionRunner(self.runtime.log)
            await runner.run_forever(stop, 0.5)
        except Exception:
            logger.exception("projections stopped")

    async def run(self, stop: asyncio.Event) -> None:
        self.refresh_flows()
        loops = [
            asyncio.create_task(self.trigger_loop(stop)),
            asyncio.create_task(self.projection_loop(stop)),
        ]
        await self.scheduler.run(stop)
        await asyncio.gather(*loops, *self.pending, return_exceptions=True)


@click.command("server")
@click.option(
    "--flows",
    "flows_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Deploy every flow file in this folder first.",
)
@click.option("--aws-emulator", is_flag=True, help="Start a local AWS emulator (moto).")
@pass_cli
def server(cli: CliContext, flows_dir: str | None, aws_emulator: bool) -> None:
    """Run the scheduler, the workers and the triggers until SIGTERM."""
    logging.basicConfig(
        level=os.environ.get("SLUICE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    runtime = Runtime.open(cli.event_log(), cli.data_dir)
    emulator = None
    if aws_emulator:
        from sluice.cli.emulator_env import start_emulator_env

        emulator = start_emulator_env()
        click.echo(f"AWS emulator on {emulator.url}")
    try:
        if flows_dir:
            flows = deploy_folder(runtime, flows_dir)
            click.echo(f"deployed {len(flows)} flow(s) from {flows_dir}")
            if emulator is not None:
                buckets = watched_buckets(flows)
                emulator.ensure_buckets(buckets)
                click.echo(f"emulator buckets: {', '.join(buckets) or 'none'}")
    except FlowValidationError as err:
        click.echo(f"invalid flows:\n{err}", err=True)
        sys.exit(2)
    click.echo(
        f"sluice server {runtime.worker_id} on {cli.database_url.split('@')[-1]}"
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Server(runtime).run(stop)

    try:
        run_async(main())
    finally:
        if emulator is not None:
            emulator.stop()
    click.echo("sluice server stopped")
