"""`slack.IncomingWebhook`: post a message to a Slack incoming webhook."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar

import httpx
from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, Task, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.http.client import new_client, transport_error

_WHAT = "Slack webhook"  # how messages name the target: its URL is a secret
_CONNECT_TIMEOUT = timedelta(seconds=10)
_READ_TIMEOUT = timedelta(seconds=30)


class IncomingWebhookOutputs(TaskOutputs):
    """Slack's answer: the HTTP `code` and its `body` (``ok`` on success)."""

    code: int
    body: str


@register_task
class IncomingWebhook(Task):
    """Post a message to a Slack incoming webhook.

    Give either `payload` (Slack's message JSON, as an object or a JSON string: `text`,
    `blocks`, `attachments`…) or `messageText` (a plain text message). The webhook `url`
    is a secret: it never appears in logs or error messages. A non-2xx answer fails the
    task with Slack's answer (``invalid_payload``, ``no_service``…); 429 and 5xx answers
    and connection failures are retryable, so the flow's retry policy may try again.

    Example:
        ```yaml
        id: notify
        namespace: company.team
        tasks:
          - id: slack
            type: slack.IncomingWebhook
            url: "{{ secret('SLACK_WEBHOOK') }}"
            payload:
              text: "Flow {{ flow.id }} finished: execution {{ execution.id }}"
        ```
    """

    type_name: ClassVar[str] = "slack.IncomingWebhook"
    aliases: ClassVar[tuple[str, ...]] = (
        "io.kestra.plugin.notifications.slack.SlackIncomingWebhook",
        "io.kestra.plugin.slack.SlackIncomingWebhook",
    )

    # Validation errors would otherwise quote the input, webhook URL included.
    model_config = ConfigDict(hide_input_in_errors=True)

    url: SecretStr
    payload: dict[str, Any] | str | None = Field(default=None, repr=False)
    message_text: str | None = None

    @field_validator("payload")
    @classmethod
    def _payload_is_json_object(
        cls, value: dict[str, Any] | str | None
    ) -> dict[str, Any] | None:
        if not isinstance(value, str):
            return value
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"payload is not valid JSON: {err}") from err
        if not isinstance(parsed, dict):
            raise ValueError("payload must be a JSON object")
        return parsed

    @model_validator(mode="after")
    def _one_message(self) -> IncomingWebhook:
        if (self.payload is None) == (self.message_text is None):
            raise ValueError("give exactly one of payload and messageText")
        return self

    def message(self) -> dict[str, Any]:
        """The JSON object posted to Slack."""
        if isinstance(self.payload, dict):
            return self.payload
        return {"text": self.message_text or ""}

    async def run(self, ctx: RunContext) -> IncomingWebhookOutputs:
        """Post the message; fail with Slack's answer when it is not 2xx."""
        url = self.url.get_secret_value()
        ctx.mask(url)
        try:
            async with new_client(_CONNECT_TIMEOUT, _READ_TIMEOUT) as client:
                response = await client.post(url, json=self.message())
        except httpx.InvalidURL:
            # httpx quotes the URL in this error; it is a secret, so it is dropped.
            raise TaskError(f"{_WHAT}: the url is not a valid URL") from None
        except httpx.HTTPError as err:
            raise transport_error(err, _WHAT) from err
        answer = response.text.strip().replace(url, "******")[:500]
        code = response.status_code
        if not 200 <= code < 300:
            raise TaskError(
                f"{_WHAT}: Slack answered HTTP {code}: {answer or '(empty)'}",
                retryable=code == 429 or code >= 500,
                error_type=f"Slack{code}",
            )
        ctx.info(f"{_WHAT}: message posted (HTTP {code})")
        return IncomingWebhookOutputs(code=code, body=answer)
