"""Core runnable tasks (Log, Return, OutputValues, Fail, Sleep) and the Schedule trigger."""

from sluice.plugins.core.schedule import Schedule
from sluice.plugins.core.tasks import Fail, Log, OutputValues, Return, Sleep

__all__ = ["Fail", "Log", "OutputValues", "Return", "Schedule", "Sleep"]
