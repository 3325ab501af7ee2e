"""Contexts for running tasks and triggers directly in tests, with real local storage.

`make_run_context(tmp_path)` gives a `RunContext` whose storage is a `LocalStorage`
under ``tmp_path/storage`` and whose logger records lines (`ctx.logger.lines`).
`make_trigger_context(tmp_path, known=set())` gives a `TriggerContext` whose
`already_fired` looks keys up in `known`; `EngineRecorder` plays the engine's part
between polls (record the fires, then hand the cursor back).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sluice.core.plugin import Fire, PollResult, RunContext, TriggerContext
from sluice.storage.local import LocalStorage

START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class RecordingLogger:
    """A `TaskLogger` that keeps every line, for assertions."""

    lines: list[tuple[int, str]] = field(default_factory=list)

    def log(self, level: int, message: str) -> None:
        self.lines.append((level, message))

    def messages(self, level: int | None = None) -> list[str]:
        """The logged messages, only those at `level` when given."""
        return [m for lvl, m in self.lines if level is None or lvl == level]

    @property
    def warnings(self) -> list[str]:
        return self.messages(logging.WARNING)

    def text(self) -> str:
        """Every line joined, to check that a secret never appears."""
        return "\n".join(m for _, m in self.lines)


@dataclass
class ManualClock:
    """A clock that moves only when told."""

    current: datetime = START

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


def make_run_context(tmp_path: Path, **overrides: Any) -> RunContext:
    """A `RunContext` with local storage in ``tmp_path/storage`` and a recording logger.

    Any `RunContext` field can be overridden (`task_id="upload"`, `storage=…`, …).
    """
    values: dict[str, Any] = {
        "execution_id": "exec1",
        "task_run_id": "run1",
        "task_id": "task1",
        "attempt": 1,
        "namespace": "company.team",
        "flow_id": "flow1",
        "storage": LocalStorage(tmp_path / "storage"),
        "logger": RecordingLogger(),
        "clock": ManualClock(),
    }
    values.update(overrides)
    return RunContext(**values)


def make_trigger_context(
    tmp_path: Path, known: set[str] | None = None, **overrides: Any
) -> TriggerContext:
    """A `TriggerContext` with local storage; `already_fired` looks keys up in `known`.

    Pass the same `known` set to successive contexts to simulate the engine's record of
    fires (or use `EngineRecorder`). Any `TriggerContext` field can be overridden.
    """
    values: dict[str, Any] = {
        "namespace": "company.team",
        "flow_id": "flow1",
        "trigger_id": "trigger1",
        "storage": LocalStorage(tmp_path / "storage"),
        "logger": RecordingLogger(),
        "clock": ManualClock(),
    }
    if known is not None:
        values["known_keys"] = lambda keys: {k for k in keys if k in known}
    values.update(overrides)
    return TriggerContext(**values)


@dataclass
class EngineRecorder:
    """Plays the engine around a polling trigger: record fires, then the cursor.

    The real engine records each fire with its execution in one transaction, then the
    new cursor; `record` does the same in memory, and `context` hands both back.
    """

    tmp_path: Path
    known: set[str] = field(default_factory=set)
    cursor: Any = None
    fires: list[Fire] = field(default_factory=list)
    executions: int = 0

    def context(self, **overrides: Any) -> TriggerContext:
        """The context of the next poll: the recorded keys and the last cursor."""
        return make_trigger_context(
            self.tmp_path, self.known, cursor=self.cursor, **overrides
        )

    def record(self, result: PollResult, keep_cursor: bool = True) -> list[Fire]:
        """Record the fires not seen before (exactly once), then the cursor."""
        new = [f for f in result.fires if f.idempotency_key not in self.known]
        for fire in new:
            self.known.add(fire.idempotency_key)
            self.fires.append(fire)
            self.executions += 1
        if keep_cursor:
            self.cursor = result.cursor
        return new

    def fired_keys(self, variable: str = "key") -> Sequence[Any]:
        """One variable of every recorded fire, in firing order."""
        return [f.variables.get(variable) for f in self.fires]
