"""The runnable core tasks: Log, Return, OutputValues, Fail and Sleep.

Flowable tasks (If, Switch, ForEach, Parallel, Sequential, Subflow, Pause) are not
plugins: the scheduler decides them (sluice.core.decide).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, ClassVar, Literal

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, Task, TaskOutputs, Waiting
from sluice.core.registry import register_task

_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}


class NoOutputs(TaskOutputs):
    """A task with no outputs."""


@register_task
class Log(Task):
    """Write one message (or several) to the task run's log.

    ```yaml
    - id: hello
      type: core.Log
      message: "Hello {{ inputs.name }}"
    ```
    """

    type_name: ClassVar[str] = "core.Log"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.core.log.Log",)
    message: str | list[str]
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR"] = "INFO"

    async def run(self, ctx: RunContext) -> NoOutputs:
        """Log the message(s)."""
        messages = self.message if isinstance(self.message, list) else [self.message]
        for message in messages:
            ctx.logger.log(_LEVELS[self.level], str(message))
        return NoOutputs()


class ReturnOutputs(TaskOutputs):
    """The rendered value."""

    value: Any = None


@register_task
class Return(Task):
    """Render `format` and return it as `value`.

    ```yaml
    - id: greeting
      type: core.Return
      format: "{{ inputs.name | upper }}"
    ```
    """

    type_name: ClassVar[str] = "core.Return"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.core.debug.Return",)
    format: Any = None

    async def run(self, ctx: RunContext) -> ReturnOutputs:
        """Return the rendered value."""
        return ReturnOutputs(value=self.format)


class Values(TaskOutputs):
    """The rendered values."""

    values: dict[str, Any] = {}


@register_task
class OutputValues(Task):
    """Expose a map of values as outputs (`outputs.<id>.values.<key>`).

    ```yaml
    - id: out
      type: core.OutputValues
      values:
        count: "{{ outputs.q.size }}"
    ```
    """

    type_name: ClassVar[str] = "core.OutputValues"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.core.output.OutputValues",)
    values: dict[str, Any]

    async def run(self, ctx: RunContext) -> Values:
        """Return the values."""
        return Values(values=self.values)


@register_task
class Fail(Task):
    """Fail the task run (when `condition` is true, if given).

    ```yaml
    - id: stop
      type: core.Fail
      condition: "{{ outputs.count.value < 10 }}"
      errorMessage: too few rows
    ```
    """

    type_name: ClassVar[str] = "core.Fail"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.core.execution.Fail",)
    condition: Any = True
    error_message: str = "Task failure"

    async def run(self, ctx: RunContext) -> NoOutputs:
        """Fail, or do nothing when the condition is false."""
        from sluice.core.expressions import truthy

        if truthy(self.condition):
            raise TaskError(self.error_message, retryable=None, error_type="Fail")
        return NoOutputs()


@register_task
class Sleep(Task):
    """Wait for `duration` without holding a worker: a durable timer in the log.

    ```yaml
    - id: wait
      type: core.Sleep
      duration: PT5M
    ```
    """

    type_name: ClassVar[str] = "core.Sleep"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.core.flow.Sleep",)
    duration: timedelta

    async def run(self, ctx: RunContext) -> NoOutputs | Waiting:
        """First call: wait. Second call (timer due): done."""
        if ctx.checkpoint is None:
            until = ctx.clock.now() + self.duration
            return Waiting(
                checkpoint={"until": until.isoformat()}, poll_after=self.duration
            )
        return NoOutputs()
