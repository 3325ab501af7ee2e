"""The `core.Schedule` trigger: cron expressions in a time zone.

Fires are events (`TriggerFired` with `scheduled_for`), recorded with an idempotency key
made of the trigger and the scheduled time, so a restart neither skips nor repeats a
fire: the server computes the fires due since the last recorded one and records each
once. `recoverMissedSchedules` says what to do with fires missed while nothing ran: ALL
(record each), LAST (only the latest), NONE (skip to the next future one).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import field_validator

from sluice.core.plugin import ScheduleTrigger
from sluice.core.registry import register_trigger


@register_trigger
class Schedule(ScheduleTrigger):
    """Start an execution on a cron schedule.

    ```yaml
    triggers:
      - id: nightly
        type: core.Schedule
        cron: "0 2 * * *"
        timezone: Europe/Paris
        recoverMissedSchedules: LAST
    ```
    """

    type_name: ClassVar[str] = "core.Schedule"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.core.trigger.Schedule",)
    cron: str
    timezone: str = "UTC"
    recover_missed_schedules: Literal["ALL", "LAST", "NONE"] = "ALL"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(
                f"invalid cron expression {value!r} (5 fields or @daily, …)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    def next_after(self, after: datetime) -> datetime | None:
        """The first scheduled time strictly after `after`, in UTC."""
        local = after.astimezone(ZoneInfo(self.timezone))
        nxt: datetime = croniter(self.cron, local).get_next(datetime)
        return nxt.astimezone(ZoneInfo("UTC"))

    def due_between(self, last: datetime, now: datetime) -> list[datetime]:
        """Scheduled times in (last, now], filtered by `recoverMissedSchedules`."""
        due: list[datetime] = []
        current = self.next_after(last)
        while current is not None and current <= now and len(due) < 10_000:
            due.append(current)
            current = self.next_after(current)
        if len(due) > 1 and self.recover_missed_schedules == "LAST":
            return due[-1:]
        if len(due) > 1 and self.recover_missed_schedules == "NONE":
            return due[-1:] if due[-1] == now else []
        return due
