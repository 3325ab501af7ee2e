"""Slack tasks: `slack.IncomingWebhook` (Kestra's `SlackIncomingWebhook`)."""

from sluice.plugins.slack.incoming_webhook import (
    IncomingWebhook,
    IncomingWebhookOutputs,
)

__all__ = ["IncomingWebhook", "IncomingWebhookOutputs"]
