import socket

import pytest
from pydantic import ValidationError

from sluice.core.errors import TaskError
from sluice.core.registry import task_class
from sluice.plugins.slack import IncomingWebhook
from tests.fixtures_http import Reply, example_tasks
from tests.plugin_context import make_run_context


def _webhook(**props) -> IncomingWebhook:
    return IncomingWebhook.model_validate(props)


async def test_webhook_posts_payload_object(slack_server, tmp_path):
    payload = {"text": "done", "blocks": [{"type": "divider"}]}
    task = _webhook(url=slack_server.webhook_url, payload=payload)

    out = await task.run(make_run_context(tmp_path))

    assert slack_server.payloads == [payload]
    assert (out.code, out.body) == (200, "ok")
    sent = slack_server.requests[0]
    assert sent.headers["content-type"] == "application/json"


async def test_webhook_posts_payload_given_as_json_string(slack_server, tmp_path):
    task = _webhook(url=slack_server.webhook_url, payload='{"text": "from a string"}')

    await task.run(make_run_context(tmp_path))

    assert slack_server.texts == ["from a string"]


async def test_webhook_posts_message_text(slack_server, tmp_path):
    task = _webhook(url=slack_server.webhook_url, messageText="hello *team*")

    await task.run(make_run_context(tmp_path))

    assert slack_server.payloads == [{"text": "hello *team*"}]


@pytest.mark.parametrize(
    "props",
    [
        {},
        {"payload": {"text": "a"}, "messageText": "b"},
        {"payload": "not json"},
        {"payload": "[1, 2]"},
    ],
)
def test_webhook_refuses_bad_message_without_quoting_the_url(props):
    with pytest.raises(ValidationError) as caught:
        _webhook(url="https://hooks.example/services/T1/B1/secretpath", **props)

    assert "secretpath" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "answer", "retryable"),
    [
        (400, "invalid_payload", False),
        (404, "no_service", False),
        (429, "rate_limited", True),
        (500, "rollup_error", True),
    ],
)
async def test_webhook_fails_with_slack_answer_on_non_2xx(
    slack_server, tmp_path, status, answer, retryable
):
    slack_server.respond("/services/*", Reply(status, answer))
    ctx = make_run_context(tmp_path)

    with pytest.raises(TaskError) as caught:
        await _webhook(url=slack_server.webhook_url, messageText="x").run(ctx)

    assert caught.value.retryable is retryable
    assert f"HTTP {status}: {answer}" in caught.value.message
    assert "/services/" not in caught.value.message
    assert "/services/" not in ctx.logger.text()


async def test_webhook_succeeds_on_a_retry_after_a_server_error(slack_server, tmp_path):
    slack_server.respond("/services/*", Reply(503, "unavailable"), Reply(200, "ok"))
    task = _webhook(url=slack_server.webhook_url, messageText="retry me")

    with pytest.raises(TaskError):
        await task.run(make_run_context(tmp_path))
    out = await task.run(make_run_context(tmp_path))

    assert out.body == "ok"
    assert slack_server.texts == ["retry me", "retry me"]


async def test_webhook_connection_failure_is_retryable_and_hides_url(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/T1/B1/secretpath"

    with pytest.raises(TaskError) as caught:
        await _webhook(url=url, messageText="x").run(make_run_context(tmp_path))

    assert caught.value.retryable
    assert "could not connect" in caught.value.message
    assert "secretpath" not in caught.value.message


async def test_webhook_masks_its_url_and_keeps_it_out_of_repr(slack_server, tmp_path):
    ctx = make_run_context(tmp_path)
    task = _webhook(url=slack_server.webhook_url, messageText="x")

    await task.run(ctx)

    assert slack_server.webhook_url in ctx.secret_values
    assert "/services/" not in repr(task)
    assert "/services/" not in ctx.logger.text()


def test_webhook_is_registered_under_kestra_names():
    kestra = "io.kestra.plugin.notifications.slack.SlackIncomingWebhook"
    assert task_class(kestra) is IncomingWebhook
    assert task_class("slack.IncomingWebhook") is IncomingWebhook


async def test_webhook_docstring_example_runs(slack_server, tmp_path):
    [props] = example_tasks(IncomingWebhook, url=slack_server.webhook_url)
    props = {k: v for k, v in props.items() if k not in ("id", "type")}

    await IncomingWebhook.model_validate(props).run(make_run_context(tmp_path))

    assert slack_server.texts == [props["payload"]["text"]]


def test_slack_package_exports_sorted_all():
    import sluice.plugins.slack as package

    assert package.__all__ == sorted(package.__all__)
