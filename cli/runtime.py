"""The composition root: the log, storage, secrets, clock, plugins and the scheduler.

Commands build one `Runtime` from the CLI options and call into it; nothing below cli/
knows which database, storage or secret backend is in use.
"""

from __future__ import annotations

import asyncio
import getpass
import importlib
import os
import pkgutil
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from sluice.core.context import INPUTS_VAULT_KEY
from sluice.core.decide import execution_stream
from sluice.core.events import ExecutionCreated, JsonValue, NewEvent, RecordedEvent
from sluice.core.flow import Flow
from sluice.core.flows import FlowRepository
from sluice.core.inputs import validate_inputs
from sluice.core.ports import EventLog, Storage
from sluice.core.scheduler import Scheduler
from sluice.core.state import ExecutionState, fold

_PLUGINS_LOADED = False


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Now, timezone-aware."""
        return datetime.now(UTC)


def load_plugins() -> None:
    """Import every module under sluice.plugins, so each task and trigger registers."""
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    import sluice.plugins

    for info in pkgutil.walk_packages(sluice.plugins.__path__, "sluice.plugins."):
        if info.name.rsplit(".", 1)[-1].startswith("test"):
            continue
        importlib.import_module(info.name)
    _PLUGINS_LOADED = True


def default_actor() -> str:
    """`user:<OS user>`, the actor of commands run without --as."""
    try:
        return f"user:{getpass.getuser()}"
    except (KeyError, OSError):
        return "user:unknown"


@dataclass
class Runtime:
    """Everything a command needs, opened from the CLI options."""

    log: EventLog
    storage: Storage
    data_dir: str
    clock: SystemClock = field(default_factory=SystemClock)
    worker_id: str = field(
        default_factory=lambda: (
            f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        )
    )

    @classmethod
    def open(cls, log: EventLog, data_dir: str) -> Runtime:
        """Build a runtime over an opened log, with local storage in `data_dir`."""
        from sluice.storage import open_storage

        load_plugins()
        return cls(log=log, storage=open_storage(data_dir), data_dir=data_dir)

    @cached_property
    def flows(self) -> FlowRepository:
        """Flow revisions in the log (one cache per runtime, shared with its schedulers)."""
        return FlowRepository(self.log)

    def secrets(self) -> Any:
        """The secret providers: environment variables, then AWS Secrets Manager when
        `SLUICE_SECRETS_MANAGER_PREFIX` is set (`secret('DB')` reads `<prefix>DB`, with
        the default AWS credentials chain and region)."""
        from sluice.storage.secrets import ChainSecretProvider, EnvSecretProvider

        providers: list[Any] = [EnvSecretProvider()]
        prefix = os.environ.get("SLUICE_SECRETS_MANAGER_PREFIX")
        if prefix is not None:
            from sluice.plugins.aws._secrets_provider import SecretsManagerProvider

            providers.append(SecretsManagerProvider(prefix=prefix))
        return ChainSecretProvider(providers)

    def scheduler(self, **kwargs: Any) -> Scheduler:
        """A scheduler over this runtime's log and storage."""
        lease = float(os.environ.get("SLUICE_LEASE_SECONDS", "30"))
        kwargs.setdefault("lease_for", timedelta(seconds=lease))
        kwargs.setdefault("flows", self.flows)
        return Scheduler(
            self.log,
            self.storage,
            self.clock,
            secrets=self.secrets(),
            worker_id=self.worker_id,
            **kwargs,
        )

    def create_execution(
        self,
        flow: Flow,
        raw_inputs: dict[str, Any],
        *,
        actor: str,
        from_cli: bool = True,
        labels: dict[str, str] | None = None,
    ) -> str:
        """Validate inputs and append `ExecutionCreated`; return the execution id."""
        inputs = validate_inputs(flow.inputs, raw_inputs, from_cli=from_cli)
        execution_id = uuid.uuid4().hex[:16]
        secret = _secret_inputs(flow, inputs)
        if secret:
            from sluice.core.worker import SecretVault

            SecretVault(self.storage).put(execution_id, INPUTS_VAULT_KEY, secret)
        created = ExecutionCreated(
            execution_id=execution_id,
            namespace=flow.namespace,
            flow_id=flow.id,
            flow_revision=flow.revision,
            inputs=_redact_secret_inputs(flow, inputs),
            labels={**flow.labels, **(labels or {})},
            trigger={"type": "manual", "by": actor},
        )
        self.log.append(
            execution_stream(execution_id),
            [NewEvent(event=created, actor=actor, correlation_id=execution_id)],
            0,
        )
        return execution_id

    def state(self, execution_id: str) -> ExecutionState:
        """The folded state of an execution (empty if unknown)."""
        return fold(self.log.read_stream(execution_stream(execution_id)))

    async def drive(
        self,
        execution_id: str,
        done: Callable[[ExecutionState], bool],
        listener: Callable[[RecordedEvent], None] | None = None,
    ) -> ExecutionState:
        """Run a scheduler in this process until `done(state)` holds for the execution."""
        current = self.state(execution_id)
        if current.id and done(current):
            return current
        # The scheduler tails the log from the start: judge only what happens from now on,
        # not an old pause or end replayed from history.
        head = self.log.head_position()
        scheduler = self.scheduler()
        # Start from the head, not from the beginning of the log: this run only needs
        # its execution (and what it starts), not every execution ever recorded.
        flow = self.flows.get(current.namespace, current.flow_id, current.flow_revision)
        if flow.concurrency is None:
            # A concurrency limit counts every running execution of the flow, so only
            # an unlimited flow may skip the history.
            scheduler.position = head
            await scheduler.reload(execution_id)
            scheduler.dirty.add(execution_id)
        stop = asyncio.Event()

        def watch(recorded: RecordedEvent) -> None:
            if listener is not None and recorded.position > head:
                listener(recorded)
            state = scheduler.executions.get(execution_id)
            if (
                recorded.position > head
                and recorded.stream == execution_stream(execution_id)
                and state
                and done(state)
            ):
                stop.set()
                scheduler.wake.set()  # leave now, not at the next poll

        scheduler.listeners.append(watch)
        await scheduler.run(stop)
        return self.state(execution_id)


def _secret_inputs(flow: Flow, inputs: dict[str, JsonValue]) -> dict[str, str]:
    from sluice.core.inputs import secret_input_names

    names = secret_input_names(flow.inputs)
    return {k: str(v) for k, v in inputs.items() if k in names and v is not None}


def _redact_secret_inputs(
    flow: Flow, inputs: dict[str, JsonValue]
) -> dict[str, JsonValue]:
    from sluice.core.plugin import REDACTED

    secret = _secret_inputs(flow, inputs)
    return {k: (REDACTED if k in secret else v) for k, v in inputs.items()}


def parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """`KEY=VALUE` strings into a dict; a pair without '=' is an error."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--input {pair!r} is not KEY=VALUE")
        found[key] = value
    return found


def run_async(main: Any) -> Any:
    """Run a coroutine on uvloop when it is installed (the `fast` extra), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
