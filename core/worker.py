"""Runs one claimed task-run attempt: render, validate, call the plugin, report.

The report (`TaskRunSucceeded`, `TaskRunFailed` or `TaskRunWaiting`) is appended in the
same transaction that completes the lease, so a worker whose lease expired, and whose
attempt was handed to another, cannot record a result (`StaleLeaseError`). Rendered
secret values are masked in every message and output before anything is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from sluice.core import registry
from sluice.core.context import build_context
from sluice.core.errors import OrchestratorError, StaleLeaseError, TaskError
from sluice.core.events import (
    BaseEvent,
    JsonValue,
    NewEvent,
    TaskRunFailed,
    TaskRunStarted,
    TaskRunSucceeded,
    TaskRunWaiting,
)
from sluice.core.expressions import Renderer
from sluice.core.flow import Flow, TaskDef
from sluice.core.plugin import REDACTED, RunContext, TaskOutputs, Waiting, split_outputs
from sluice.core.ports import (
    ANY_VERSION,
    Clock,
    EventLog,
    Lease,
    LogLine,
    Storage,
    StreamAppend,
)
from sluice.core.state import ExecutionState

logger = logging.getLogger("sluice.worker")


def mask(text: str, secrets: list[str]) -> str:
    """`text` with every secret value replaced by the redaction marker."""
    for value in sorted(secrets, key=len, reverse=True):
        if value and len(value) >= 3:
            text = text.replace(value, REDACTED)
    return text


def mask_value(value: JsonValue, secrets: list[str]) -> JsonValue:
    """A JSON value with secret values masked in every string."""
    if not secrets:
        return value
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, list):
        return [mask_value(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(v, secrets) for k, v in value.items()}
    return value


@dataclass
class BufferedLogger:
    """Collects a task run's log lines (masked) and flushes them to the log store."""

    execution_id: str
    task_run_id: str
    attempt: int
    clock: Clock
    secrets: list[str]
    lines: list[LogLine]

    def log(self, level: int, message: str) -> None:
        """Record one line, secrets masked."""
        self.lines.append(
            LogLine(
                execution_id=self.execution_id,
                task_run_id=self.task_run_id,
                attempt=self.attempt,
                level=level,
                message=mask(str(message), self.secrets),
                at=self.clock.now(),
            )
        )


class Appender:
    """Group commit for worker writes: the starts and results of many task runs are
    appended, and their leases completed, in one transaction.

    Each caller awaits its own outcome. When a batch fails (a lease was lost, a race),
    its items are retried one by one so one bad item cannot fail the others.
    """

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.pending: list[
            tuple[list[StreamAppend], list[Lease], asyncio.Future[None]]
        ] = []
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def submit(self, appends: list[StreamAppend], leases: list[Lease]) -> None:
        """Append and complete; raise what the append raised (e.g. StaleLeaseError)."""
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((appends, leases, future))
        self.wake.set()
        await future

    async def close(self) -> None:
        """Flush what is pending and stop."""
        if self.pending:
            batch, self.pending = self.pending, []
            await self.flush(batch)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.pending = self.pending, []
            if batch:
                await self.flush(batch)

    async def flush(
        self, batch: list[tuple[list[StreamAppend], list[Lease], asyncio.Future[None]]]
    ) -> None:
        appends = [a for item in batch for a in item[0]]
        leases = [lease for item in batch for lease in item[1]]
        try:
            await asyncio.to_thread(self.log.append_many, appends, (), leases)
        except OrchestratorError:
            for one_appends, one_leases, future in batch:
                try:
                    await asyncio.to_thread(
                        self.log.append_many, one_appends, (), one_leases
                    )
                except OrchestratorError as err:
                    if not future.done():
                        future.set_exception(err)
                else:
                    if not future.done():
                        future.set_result(None)
            return
        for _, _, future in batch:
            if not future.done():
                future.set_result(None)


class SecretVault:
    """Secret outputs, kept in internal storage beside (never inside) the event log."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def _path(self, execution_id: str, task_run_id: str) -> str:
        return f"_secrets/{execution_id}/{task_run_id}.json"

    def put(self, execution_id: str, task_run_id: str, values: dict[str, str]) -> None:
        """Keep a task run's secret outputs."""
        self.storage.put_bytes(
            self._path(execution_id, task_run_id), json.dumps(values).encode()
        )

    def get(self, execution_id: str, task_run_id: str) -> dict[str, str]:
        """A task run's secret outputs ({} if none were kept)."""
        try:
            data = self.storage.get_bytes(
                f"storage://{self._path(execution_id, task_run_id)}"
            )
        except OrchestratorError:
            return {}
        loaded: dict[str, str] = json.loads(data)
        return loaded


class Worker:
    """Runs claimed attempts against the plugins."""

    def __init__(
        self,
        log: EventLog,
        storage: Storage,
        clock: Clock,
        renderer: Renderer,
        worker_id: str,
        lease_for: timedelta,
        load: Callable[[str, str, int], Awaitable[tuple[Flow, ExecutionState]]],
    ) -> None:
        self.log, self.storage, self.clock, self.renderer = (
            log,
            storage,
            clock,
            renderer,
        )
        self.worker_id, self.lease_for, self.load = worker_id, lease_for, load
        self.vault = SecretVault(storage)
        self.appender = Appender(log)

    async def run(self, lease: Lease) -> None:
        """Run one attempt and report it with the lease (never raises)."""
        item = lease.item
        try:
            flow, state = await self.load(
                item.execution_id, item.task_run_id, item.attempt
            )
            run = state.task_runs.get(item.task_run_id)
            task = flow.task(run.task_id) if run else None
            if (
                run is None
                or task is None
                or run.settled
                or run.attempt != item.attempt
            ):
                await self.report(lease, [])  # superseded: drop the item
                return
            if run.checkpoint is None:
                await self.append(
                    lease,
                    [
                        TaskRunStarted(
                            task_run_id=run.id,
                            attempt=run.attempt,
                            worker=self.worker_id,
                        )
                    ],
                )
            heartbeat = asyncio.create_task(self.heartbeat(lease))
            try:
                events, lines = await self.attempt(flow, state, task, item.task_run_id)
            finally:
                heartbeat.cancel()
            await self.flush(lines)
            await self.report(lease, events)
        except StaleLeaseError:
            logger.warning("lease lost for %s; another worker owns it now", item.key)
        except Exception:
            logger.exception("worker failed to run %s", item.key)

    async def attempt(
        self, flow: Flow, state: ExecutionState, task: TaskDef, run_id: str
    ) -> tuple[list[BaseEvent], list[LogLine]]:
        """Render, validate and run the plugin; the events that report the outcome."""
        run = state.task_runs[run_id]
        secrets: list[str] = []
        lines: list[LogLine] = []
        ctx_logger = BufferedLogger(
            state.id, run.id, run.attempt, self.clock, secrets, lines
        )
        try:
            instance = self.instantiate(flow, state, task, run_id, secrets)
            ctx = RunContext(
                execution_id=state.id,
                task_run_id=run.id,
                task_id=task.id,
                attempt=run.attempt,
                namespace=flow.namespace,
                flow_id=flow.id,
                storage=self.storage,
                logger=ctx_logger,
                clock=self.clock,
                checkpoint=run.checkpoint,
                value=run.value,
                secret_values=secrets,
            )
            coro = instance.run(ctx)
            timeout = task.timeout.total_seconds() if task.timeout else None
            result = await asyncio.wait_for(coro, timeout)
            return [self.success(state, run.id, run.attempt, result, secrets)], lines
        except TimeoutError:
            error = TaskError(
                f"attempt {run.attempt} exceeded its timeout of {task.timeout}",
                retryable=True,
                error_type="Timeout",
            )
        except TaskError as err:
            error = err
        except OrchestratorError as err:
            error = TaskError(str(err), retryable=False, error_type=type(err).__name__)
        except Exception as err:  # noqa: BLE001 (a plugin bug is a failed task run)
            logger.debug("task %s raised:\n%s", task.id, traceback.format_exc())
            error = TaskError(
                f"{type(err).__name__}: {err}", error_type=type(err).__name__
            )
        message = mask(error.message, secrets)
        ctx_logger.log(logging.ERROR, message)
        failed = TaskRunFailed(
            task_run_id=run.id,
            attempt=run.attempt,
            error_type=error.error_type,
            message=message,
            retryable=error.retryable,
        )
        return [failed], lines

    def instantiate(
        self,
        flow: Flow,
        state: ExecutionState,
        task: TaskDef,
        run_id: str,
        secrets: list[str],
    ) -> Any:
        """The plugin's model with every property rendered and validated."""
        cls = registry.task_class(task.type)
        if cls is None:
            raise TaskError(f"unknown task type {task.type!r}", retryable=False)
        run = state.task_runs[run_id]
        context = build_context(flow, state, run, secret_outputs=self.vault.get)
        props = self.renderer.render(task.props, context, secrets=secrets)
        try:
            return cls.model_validate(props)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in err.errors()
            )
            raise TaskError(
                mask(f"invalid properties after rendering: {problems}", secrets),
                retryable=False,
                error_type="InvalidProperties",
            ) from err

    def success(
        self,
        state: ExecutionState,
        run_id: str,
        attempt: int,
        result: TaskOutputs | Waiting,
        secrets: list[str],
    ) -> BaseEvent:
        if isinstance(result, Waiting):
            return TaskRunWaiting(
                task_run_id=run_id,
                attempt=attempt,
                checkpoint=mask_value(result.checkpoint, secrets),
                due=self.clock.now() + result.poll_after,
            )
        public, secret = split_outputs(result)
        if secret:
            self.vault.put(state.id, run_id, secret)
            secrets.extend(secret.values())
        outputs = mask_value(public, secrets)
        warning = bool(outputs.get("warning"))
        return TaskRunSucceeded(
            task_run_id=run_id,
            attempt=attempt,
            outputs=outputs,
            state="WARNING" if warning else "SUCCESS",
            secret_outputs=sorted(secret),
        )

    def _appends(self, lease: Lease, events: list[BaseEvent]) -> list[StreamAppend]:
        if not events:
            return []
        stream = f"execution/{lease.item.execution_id}"
        new = [NewEvent(event=e, actor=f"worker:{self.worker_id}") for e in events]  # type: ignore[arg-type]
        return [StreamAppend(stream=stream, events=new, expected_version=ANY_VERSION)]

    async def append(self, lease: Lease, events: list[BaseEvent]) -> None:
        """Append events for the attempt, keeping its lease."""
        await self.appender.submit(self._appends(lease, events), [])

    async def report(self, lease: Lease, events: list[BaseEvent]) -> None:
        """Append the attempt's outcome and complete its lease, in one transaction."""
        await self.appender.submit(self._appends(lease, events), [lease])

    async def flush(self, lines: list[LogLine]) -> None:
        if lines and hasattr(self.log, "append_logs"):
            await asyncio.to_thread(self.log.append_logs, lines)  # type: ignore[attr-defined]

    async def heartbeat(self, lease: Lease) -> None:
        """Keep the lease alive while the plugin runs."""
        interval = max(self.lease_for.total_seconds() / 3, 0.2)
        current = lease
        with contextlib.suppress(asyncio.CancelledError, StaleLeaseError):
            while True:
                await asyncio.sleep(interval)
                current = await asyncio.to_thread(
                    self.log.extend, current, self.lease_for, self.clock.now()
                )
