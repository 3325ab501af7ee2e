"""Which task and trigger types exist, by their short name and their aliases.

Kestra's full names are accepted for every plugin: ``io.kestra.plugin.<type_name>``
(`io.kestra.plugin.aws.s3.Upload` for `aws.s3.Upload`), plus the aliases a class lists.
"""

from __future__ import annotations

from typing import TypeVar

from sluice.core.plugin import PollingTrigger, ScheduleTrigger, Task

_T = TypeVar("_T", bound=type[Task])
_G = TypeVar("_G", bound=type[PollingTrigger] | type[ScheduleTrigger])

_tasks: dict[str, type[Task]] = {}
_triggers: dict[str, type[PollingTrigger] | type[ScheduleTrigger]] = {}
_canonical: dict[str, str] = {}


def _names(type_name: str, aliases: tuple[str, ...]) -> list[str]:
    return [type_name, f"io.kestra.plugin.{type_name}", *aliases]


def register_task(cls: _T) -> _T:
    """Class decorator: make a task type available to flows."""
    if not cls.type_name:
        raise ValueError(f"{cls.__name__} has no type_name")
    for name in _names(cls.type_name, cls.aliases):
        _tasks[name] = cls
        _canonical[name] = cls.type_name
    return cls


def register_trigger(cls: _G) -> _G:
    """Class decorator: make a trigger type available to flows."""
    if not cls.type_name:
        raise ValueError(f"{cls.__name__} has no type_name")
    for name in _names(cls.type_name, cls.aliases):
        _triggers[name] = cls
        _canonical[name] = cls.type_name
    return cls


def task_class(type_name: str) -> type[Task] | None:
    """The task class for a type name or alias, or None."""
    return _tasks.get(type_name)


def trigger_class(
    type_name: str,
) -> type[PollingTrigger] | type[ScheduleTrigger] | None:
    """The trigger class for a type name or alias, or None."""
    return _triggers.get(type_name)


def canonical(type_name: str) -> str:
    """The short name for a type name or alias (unchanged if unknown)."""
    return _canonical.get(type_name, type_name)


def task_types() -> list[str]:
    """Short names of every registered task type, sorted."""
    return sorted({cls.type_name for cls in _tasks.values()})


def trigger_types() -> list[str]:
    """Short names of every registered trigger type, sorted."""
    return sorted({cls.type_name for cls in _triggers.values()})
