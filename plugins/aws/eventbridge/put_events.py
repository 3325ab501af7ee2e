"""`aws.eventbridge.PutEvents`: send events, reporting failures entry by entry."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field, model_validator

from sluice.core.errors import TaskError
from sluice.core.events import JsonValue
from sluice.core.plugin import PluginModel, RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask

BATCH = 10
"""PutEvents takes at most ten entries per call."""


class Entry(PluginModel):
    """One event; `detail` is an object (sent as JSON) or JSON text."""

    event_bus_name: str | None = None
    source: str
    detail_type: str
    detail: JsonValue = Field(default_factory=dict)
    resources: list[str] = Field(default_factory=list)
    time: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _pascal_case(cls, value: Any) -> Any:
        # Kestra also accepts the AWS spelling (`EventBusName`, `DetailType`, …).
        if isinstance(value, dict):
            return {k[:1].lower() + k[1:]: v for k, v in value.items()}
        return value

    def to_api(self) -> dict[str, Any]:
        """The `PutEvents` request entry."""
        detail = (
            self.detail if isinstance(self.detail, str) else json.dumps(self.detail)
        )
        entry: dict[str, Any] = {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": detail,
        }
        if self.event_bus_name:
            entry["EventBusName"] = self.event_bus_name
        if self.resources:
            entry["Resources"] = self.resources
        if self.time:
            entry["Time"] = self.time
        return entry


class EntryResult(TaskOutputs):
    """What EventBridge said about one entry: its event id, or why it failed."""

    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class PutEventsOutputs(TaskOutputs):
    """Per-entry results, in order, and the counts; `warning` when some failed."""

    entry_count: int
    failed_entry_count: int
    entries: list[EntryResult]
    warning: str | None = None


@register_task
class PutEvents(AwsTask):
    """Send events to EventBridge, ten per call (Kestra sends one call, at most 10).

    Failed entries are reported one by one in `entries`. When some fail, the task ends
    in WARNING (the `warning` output) without failing; when all fail, or when
    `failOnUnsuccessfulEvents` is true and any fails, it fails.

    Example:
        ```yaml
        id: eventbridge_put
        namespace: company.team
        tasks:
          - id: events
            type: aws.eventbridge.PutEvents
            region: us-east-1
            entries:
              - eventBusName: orders
                source: company.shop
                detailType: OrderPlaced
                detail: {"order": 42}
        ```
    """

    type_name: ClassVar[str] = "aws.eventbridge.PutEvents"
    entries: list[Entry] = Field(min_length=1)
    fail_on_unsuccessful_events: bool = False

    async def run(self, ctx: RunContext) -> PutEventsOutputs:
        """Send every entry, batch after batch, and report each."""
        events = self.client("events")
        results: list[EntryResult] = []
        for start in range(0, len(self.entries), BATCH):
            chunk = self.entries[start : start + BATCH]
            response = await self.call(
                "events:PutEvents",
                events.put_events,
                Entries=[entry.to_api() for entry in chunk],
            )
            results.extend(
                EntryResult(
                    event_id=r.get("EventId"),
                    error_code=r.get("ErrorCode"),
                    error_message=r.get("ErrorMessage"),
                )
                for r in response.get("Entries", [])
            )
        failed = [(i, r) for i, r in enumerate(results) if r.error_code]
        warning = None
        if failed:
            first_i, first = failed[0]
            summary = (
                f"{len(failed)} of {len(results)} events failed; first, entry "
                f"{first_i}: {first.error_code}: {first.error_message}"
            )
            if len(failed) == len(results) or self.fail_on_unsuccessful_events:
                raise TaskError(summary, error_type="EventsFailed")
            warning = summary
            ctx.warning(summary)
        return PutEventsOutputs(
            entry_count=len(results),
            failed_entry_count=len(failed),
            entries=results,
            warning=warning,
        )
