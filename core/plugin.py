"""The plugin API: what a task or a trigger is, and what it sees while it runs.

A task is a pydantic model of its properties (camelCase in YAML, snake_case in Python)
with one ``async def run(ctx) -> TaskOutputs | Waiting``. Core renders every `{{ … }}`
before validating the model, so `run` sees typed values only. A task that starts a long
job returns `Waiting(checkpoint=…)`: the engine records the checkpoint as an event and
calls `run` again after `poll_after` with `ctx.checkpoint` set, so a restart resumes the
same job instead of starting a second one.

Plugins import this module and `sluice.core.errors`, nothing else of core.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Protocol

import msgspec
from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic.alias_generators import to_camel

from sluice.core.errors import TaskError
from sluice.core.events import JsonValue
from sluice.core.ports import Clock, Storage

REDACTED = "******"
"""What a secret value looks like wherever it is stored or shown."""


class PluginModel(BaseModel):
    """Base of task and trigger property models: frozen, camelCase aliases, no extras."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=False,
    )


class TaskOutputs(BaseModel):
    """Base of a task's outputs; `SecretStr` fields are secret outputs (stored redacted)."""

    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="allow"
    )


class Waiting(msgspec.Struct, frozen=True, kw_only=True):
    """Returned by `run` to wait durably: call me again after `poll_after`.

    `checkpoint` (JSON) is recorded in the log and handed back as `ctx.checkpoint`.
    """

    checkpoint: JsonValue
    poll_after: timedelta
    message: str = ""


class TaskLogger(Protocol):
    """Where a task run's log lines go; values of known secrets are masked."""

    def log(self, level: int, message: str) -> None:
        """Record one line at a `logging` level."""
        ...


@dataclass
class RunContext:
    """What a task run sees: who it is, where to put files, how to log, what time it is."""

    execution_id: str
    task_run_id: str
    task_id: str
    attempt: int
    namespace: str
    flow_id: str
    storage: Storage
    logger: TaskLogger
    clock: Clock
    checkpoint: JsonValue = None
    value: JsonValue = None
    secret_values: list[str] = field(default_factory=list)

    @property
    def idempotency_key(self) -> str:
        """A key stable across attempts and restarts of this task run (for AWS tokens)."""
        return f"{self.execution_id}:{self.task_run_id}"

    def storage_path(self, name: str) -> str:
        """A storage path for a file this task run produces."""
        ns = self.namespace.replace(".", "/")
        return f"{ns}/{self.flow_id}/{self.execution_id}/{self.task_id}/{self.task_run_id}/{name}"

    def info(self, message: str) -> None:
        """Log at INFO."""
        self.logger.log(logging.INFO, message)

    def warning(self, message: str) -> None:
        """Log at WARNING."""
        self.logger.log(logging.WARNING, message)

    def mask(self, value: str) -> None:
        """Treat `value` as a secret from here on: never log it."""
        if value and value not in self.secret_values:
            self.secret_values.append(value)


class Task(PluginModel):
    """Base of every runnable task. Subclasses set `type_name` and implement `run`."""

    type_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()

    async def run(self, ctx: RunContext) -> TaskOutputs | Waiting:
        """Do the work of one attempt."""
        raise NotImplementedError


# --- triggers ----------------------------------------------------------------------


class Fire(msgspec.Struct, frozen=True, kw_only=True):
    """One execution a trigger wants to start.

    `idempotency_key` makes the fire exactly-once: it is recorded in the same transaction
    as the execution it creates, and a key already recorded fires nothing.
    """

    idempotency_key: str
    variables: dict[str, JsonValue] = {}
    inputs: dict[str, JsonValue] = {}


class PollResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one poll found: fires to record, and the trigger's new remembered state."""

    fires: list[Fire] = []
    cursor: JsonValue = None


@dataclass
class TriggerContext:
    """What a trigger sees while it polls or acts."""

    namespace: str
    flow_id: str
    trigger_id: str
    storage: Storage
    logger: TaskLogger
    clock: Clock
    cursor: JsonValue = None
    known_keys: KnownKeys | None = None

    def already_fired(self, keys: Sequence[str]) -> set[str]:
        """Which of these idempotency keys fired before (they must not fire again)."""
        return self.known_keys(keys) if self.known_keys else set()


class KnownKeys(Protocol):
    """Looks up recorded idempotency keys."""

    def __call__(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are recorded."""
        ...


class PollingTrigger(PluginModel):
    """A trigger that polls on an `interval` (S3, SQS)."""

    type_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    interval: timedelta = timedelta(seconds=60)

    async def poll(self, ctx: TriggerContext) -> PollResult:
        """Look for new work; return fires (none is recorded before this returns)."""
        raise NotImplementedError

    async def after_fire(
        self, ctx: TriggerContext, fire: Fire, execution_id: str
    ) -> None:
        """Called once a fire and its execution are recorded (e.g. move the object)."""

    async def after_execution(
        self, ctx: TriggerContext, fire_variables: dict[str, JsonValue], state: str
    ) -> None:
        """Called once an execution this trigger started has ended."""


class ScheduleTrigger(PluginModel):
    """A trigger that fires at computed times (cron)."""

    type_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after` (aware), or None if none."""
        raise NotImplementedError


def split_outputs(outputs: TaskOutputs) -> tuple[dict[str, JsonValue], dict[str, str]]:
    """JSON outputs by alias with secrets redacted, and the secret values by output name.

    A `SecretStr` anywhere at the top level of the outputs is secret; nested models are
    dumped as JSON.
    """
    public: dict[str, JsonValue] = outputs.model_dump(mode="json", by_alias=True)
    secrets: dict[str, str] = {}
    for name, info in type(outputs).model_fields.items():
        value = getattr(outputs, name)
        if isinstance(value, SecretStr):
            key = info.alias or name
            secrets[key] = value.get_secret_value()
            public[key] = REDACTED
    return public, secrets


__all__ = [
    "REDACTED",
    "Fire",
    "KnownKeys",
    "PluginModel",
    "PollResult",
    "PollingTrigger",
    "RunContext",
    "ScheduleTrigger",
    "Task",
    "TaskError",
    "TaskLogger",
    "TaskOutputs",
    "TriggerContext",
    "Waiting",
    "split_outputs",
]
