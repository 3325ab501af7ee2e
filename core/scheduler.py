"""The one asyncio loop: tail the log, fold, decide, append; claim work and run it.

Every process (a `sluice run`, any number of `sluice server`s) runs the same loop over
one database. Execution state is only ever changed by tailing the log, so the state a
scheduler decides on is exactly the fold of the log. Decisions are appended with the
execution's `expected_version`: when two schedulers decide at once, one wins and the
other reloads and decides again. Work items are enqueued in the decision's transaction
and claimed under a lease, so no attempt runs twice at once. Timers (retry backoff,
Sleep, Pause timeouts, durable polls, scheduled starts) are due times in the state, so a
restart rebuilds them from the log and loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable
from datetime import timedelta

from sluice.core.context import build_context
from sluice.core.decide import Decision, Evaluator, decide, execution_stream
from sluice.core.errors import (
    ConcurrencyConflictError,
    DuplicateEventError,
    OrchestratorError,
    StaleLeaseError,
)
from sluice.core.events import (
    ExecutionCreated,
    ExecutionStarted,
    JsonValue,
    NewEvent,
    RecordedEvent,
)
from sluice.core.expressions import Renderer
from sluice.core.flow import Flow
from sluice.core.flows import FlowRepository
from sluice.core.ports import (
    Clock,
    EventLog,
    Lease,
    SecretProvider,
    Storage,
    StreamAppend,
)
from sluice.core.state import ExecutionState, TaskRunState, apply, fold
from sluice.core.worker import SecretVault, Worker

logger = logging.getLogger("sluice.scheduler")
Listener = Callable[[RecordedEvent], None]
ACTIVE = {"RUNNING", "PAUSED", "KILLING"}


class _Evaluator:
    """Renders expressions for decide, and finds child flows."""

    def __init__(
        self, renderer: Renderer, flows: FlowRepository, vault: SecretVault
    ) -> None:
        self.renderer, self.flows, self.vault = renderer, flows, vault

    def render(
        self,
        value: JsonValue,
        flow: Flow,
        state: ExecutionState,
        *,
        run: TaskRunState | None = None,
        loop_value: JsonValue = None,
        iteration: int | None = None,
    ) -> JsonValue:
        context = build_context(
            flow,
            state,
            run,
            value=loop_value,
            iteration=iteration,
            secret_outputs=self.vault.get,
        )
        return self.renderer.render(value, context)

    def child_flow(self, namespace: str, flow_id: str) -> Flow | None:
        return self.flows.latest(namespace, flow_id)


class Scheduler:
    """Tails the log, decides for executions, runs their task runs with workers."""

    def __init__(
        self,
        log: EventLog,
        storage: Storage,
        clock: Clock,
        *,
        secrets: SecretProvider | None = None,
        worker_id: str = "local",
        concurrency: int = 16,
        lease_for: timedelta = timedelta(seconds=30),
        poll_interval: float = 0.05,
        shutdown_grace: float = 5.0,
        flows: FlowRepository | None = None,
    ) -> None:
        self.log, self.storage, self.clock = log, storage, clock
        self.flows = flows or FlowRepository(log)
        self.renderer = Renderer(
            secret_lookup=secrets.get if secrets else None,
            read_file=storage.get_bytes,
            now=clock.now,
        )
        self.vault = SecretVault(storage)
        self.evaluator: Evaluator = _Evaluator(self.renderer, self.flows, self.vault)
        self.worker = Worker(
            log, storage, clock, self.renderer, worker_id, lease_for, self.load
        )
        self.worker_id, self.concurrency, self.lease_for = (
            worker_id,
            concurrency,
            lease_for,
        )
        self.poll_interval, self.shutdown_grace = poll_interval, shutdown_grace
        self.position = 0
        self.executions: dict[str, ExecutionState] = {}
        self.created_at: dict[str, int] = {}
        self.dirty: set[str] = set()
        self.timers: list[tuple[float, str]] = []
        self.listeners: list[Listener] = []
        self.running: dict[str, asyncio.Task[None]] = {}
        # Two signals, so neither loop can swallow the other's: the scheduler wakes when
        # a worker reported; the dispatcher wakes when work was enqueued or a slot freed.
        self.wake = asyncio.Event()
        self.work_ready = asyncio.Event()
        self.stopping = False

    # --- the loop ----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then finish or release in-flight attempts."""
        dispatcher = asyncio.create_task(self.dispatch_loop(stop))
        try:
            while not stop.is_set():
                await self.step()
                await self.sleep(stop)
        finally:
            self.stopping = True
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher
            await self.drain()
            await self.worker.appender.close()

    async def step(self) -> None:
        """Tail, fire due timers, and decide for every execution that changed; the
        decisions of all executions are appended in one transaction (group commit)."""
        await self.tail()
        now = self.clock.now().timestamp()
        while self.timers and self.timers[0][0] <= now:
            self.dirty.add(heapq.heappop(self.timers)[1])
        batch: list[tuple[str, Decision, int]] = []
        starting: dict[tuple[str, str], int] = {}
        for execution_id in sorted(self.dirty, key=self._order):
            self.dirty.discard(execution_id)
            decided = await self.decide_for(execution_id, starting)
            if decided is not None:
                batch.append(decided)
        if batch:
            await self.commit(batch)
        await self.tail()

    async def sleep(self, stop: asyncio.Event) -> None:
        timeout = self.poll_interval
        if self.timers:
            timeout = min(
                timeout, max(0.0, self.timers[0][0] - self.clock.now().timestamp())
            )
        if self.dirty:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout)
        self.wake.clear()

    def _order(self, execution_id: str) -> int:
        # FIFO by the log position of the creation: times can tie, positions cannot.
        return self.created_at.get(execution_id, 0)

    async def tail(self) -> None:
        """Read new events from the log and fold them into the states they belong to."""
        while True:
            batch = await asyncio.to_thread(self.log.read_all, self.position, 2000)
            if not batch:
                return
            for recorded in batch:
                self.position = recorded.position
                await self.observe(recorded)
            if len(batch) < 2000:
                return

    async def observe(self, recorded: RecordedEvent) -> None:
        stream = recorded.stream
        if stream.startswith("execution/"):
            execution_id = stream[len("execution/") :]
            state = self.executions.get(execution_id)
            if isinstance(recorded.event, ExecutionCreated):
                self.created_at[execution_id] = recorded.position
            if state is None and isinstance(recorded.event, ExecutionCreated):
                state = self.executions[execution_id] = ExecutionState()
            if state is not None and recorded.version == state.version + 1:
                apply(state, recorded)
            elif state is None or recorded.version > state.version:
                state = await self.reload(execution_id)
            if state.terminal:
                self.on_terminal(state)
            else:
                self.dirty.add(execution_id)
        for listener in list(self.listeners):
            listener(recorded)

    def on_terminal(self, state: ExecutionState) -> None:
        self.dirty.discard(state.id)
        for other in self.executions.values():  # a slot freed: queued ones may start
            if other.state == "QUEUED" and other.flow_id == state.flow_id:
                self.dirty.add(other.id)

    async def reload(self, execution_id: str) -> ExecutionState:
        events = await asyncio.to_thread(
            self.log.read_stream, execution_stream(execution_id)
        )
        state = self.executions[execution_id] = fold(events)
        return state

    async def load(
        self, execution_id: str, task_run_id: str = "", attempt: int = 0
    ) -> tuple[Flow, ExecutionState]:
        """The flow and state of an execution for a worker: the state this scheduler
        holds when it already has the attempt (it decided it), else read from the log."""
        state = self.executions.get(execution_id)
        run = state.task_runs.get(task_run_id) if state else None
        if state is None or run is None or run.attempt != attempt or run.settled:
            state = await self.reload(execution_id)
        return await self.flow_of(state), state

    async def flow_of(self, state: ExecutionState) -> Flow:
        """The execution's flow revision: from memory, or read and parsed once."""
        key = (state.namespace, state.flow_id, state.flow_revision)
        return self.flows.cached(*key) or await asyncio.to_thread(self.flows.get, *key)

    def running_count(self, state: ExecutionState) -> int:
        return sum(
            1
            for s in self.executions.values()
            if s.id != state.id
            and s.flow_id == state.flow_id
            and s.namespace == state.namespace
            and s.state in ACTIVE
        )

    async def decide_for(
        self, execution_id: str, starting: dict[tuple[str, str], int]
    ) -> tuple[str, Decision, int] | None:
        """Decide for one execution; None when there is nothing to append."""
        state = self.executions.get(execution_id)
        if state is None or state.terminal:
            return None
        try:
            flow = await self.flow_of(state)
            running = 0
            key = (state.namespace, state.flow_id)
            if flow.concurrency is not None:
                # Count slots taken by decisions in this batch, not yet in the log.
                running = self.running_count(state) + starting.get(key, 0)
            decision = decide(
                flow, state, self.clock.now(), self.evaluator, running_count=running
            )
        except OrchestratorError as err:
            logger.error("cannot decide for execution %s: %s", execution_id, err)
            return None
        if decision.next_due is not None:
            heapq.heappush(self.timers, (decision.next_due.timestamp(), execution_id))
        if not decision:
            return None
        if any(isinstance(e, ExecutionStarted) for e in decision.events):
            starting[key] = starting.get(key, 0) + 1
        return execution_id, decision, state.version

    def appends_of(
        self, execution_id: str, decision: Decision, version: int
    ) -> list[StreamAppend]:
        return [
            StreamAppend(
                stream=execution_stream(execution_id),
                events=[
                    NewEvent(event=e, actor="scheduler", correlation_id=execution_id)  # type: ignore[arg-type]
                    for e in decision.events
                ],
                expected_version=version,
            ),
            *decision.others,
        ]

    async def commit(self, batch: list[tuple[str, Decision, int]]) -> None:
        """Append every decision in one transaction; when one conflicts (another
        scheduler decided first), append them one by one and re-decide the losers."""
        appends = [a for item in batch for a in self.appends_of(*item)]
        work = [w for _, decision, _ in batch for w in decision.work]
        try:
            await asyncio.to_thread(self.log.append_many, appends, work)
        except (ConcurrencyConflictError, DuplicateEventError):
            for execution_id, decision, version in batch:
                try:
                    await asyncio.to_thread(
                        self.log.append_many,
                        self.appends_of(execution_id, decision, version),
                        decision.work,
                    )
                except (ConcurrencyConflictError, DuplicateEventError):
                    await self.reload(execution_id)
                    self.dirty.add(execution_id)
        if work:
            self.work_ready.set()

    # --- workers -----------------------------------------------------------------

    async def dispatch_loop(self, stop: asyncio.Event) -> None:
        """Claim work while there is room, and run each attempt in its own task."""
        while not stop.is_set():
            free = self.concurrency - len(self.running)
            leases: list[Lease] = []
            if free > 0:
                try:
                    leases = await asyncio.to_thread(
                        self.log.claim,
                        self.worker_id,
                        free,
                        self.lease_for,
                        self.clock.now(),
                    )
                except OrchestratorError as err:
                    logger.error("claiming work failed: %s", err)
            for lease in leases:
                self.running[lease.token] = asyncio.create_task(self._run(lease))
            if not leases:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.work_ready.wait(), self.poll_interval)
                self.work_ready.clear()

    async def _run(self, lease: Lease) -> None:
        try:
            await self.worker.run(lease)
        except asyncio.CancelledError:
            # Shutdown cut the attempt short: give it back now, so another process
            # takes it at once instead of when the lease expires.
            with contextlib.suppress(StaleLeaseError):
                await asyncio.to_thread(self.log.release, lease)
            raise
        finally:
            self.running.pop(lease.token, None)
            self.wake.set()
            self.work_ready.set()

    async def drain(self) -> None:
        """On shutdown: let in-flight attempts finish for `shutdown_grace` seconds, then
        cancel the rest, whose work goes back to the queue (see `_run`)."""
        if not self.running:
            return
        tasks = list(self.running.values())
        _, pending = await asyncio.wait(tasks, timeout=self.shutdown_grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
