"""Amazon EventBridge tasks (`aws.eventbridge.*`)."""

from sluice.plugins.aws.eventbridge.put_events import (
    Entry,
    EntryResult,
    PutEvents,
    PutEventsOutputs,
)

__all__ = ["Entry", "EntryResult", "PutEvents", "PutEventsOutputs"]
