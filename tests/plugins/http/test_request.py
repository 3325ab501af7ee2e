import socket

import pytest

from sluice.core.errors import TaskError
from sluice.core.registry import task_class
from sluice.plugins.http import Request
from tests.fixtures_http import Reply, example_tasks
from tests.plugin_context import make_run_context


def _request(**props) -> Request:
    return Request.model_validate(props)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_request_returns_parsed_json_body_code_and_headers(
    http_recorder, tmp_path
):
    http_recorder.respond(
        "/items/7", Reply(200, {"id": 7, "tags": ["a"]}, {"X-Trace": "t1"})
    )
    task = _request(uri=f"{http_recorder.url}/items/7?full=1")

    out = await task.run(make_run_context(tmp_path))

    assert out.code == 200
    assert out.body == {"id": 7, "tags": ["a"]}
    assert out.headers["x-trace"] == ["t1"]
    assert out.uri is None
    assert http_recorder.requests[0].method == "GET"
    assert http_recorder.requests[0].query == "full=1"


async def test_request_sends_object_body_as_json_with_headers(http_recorder, tmp_path):
    http_recorder.respond("/items", Reply(201, "created"), method="POST")
    task = _request(
        uri=f"{http_recorder.url}/items",
        method="post",
        headers={"Authorization": "Bearer abc"},
        body={"name": "widget", "size": 3},
    )

    out = await task.run(make_run_context(tmp_path))

    sent = http_recorder.requests[0]
    assert (out.code, out.body) == (201, "created")
    assert sent.json() == {"name": "widget", "size": 3}
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["authorization"] == "Bearer abc"


async def test_request_sends_string_body_with_content_type(http_recorder, tmp_path):
    http_recorder.respond("/echo", Reply(200, "ok"))
    task = _request(
        uri=f"{http_recorder.url}/echo",
        method="PUT",
        body="a,b\n1,2\n",
        content_type="text/csv",
    )

    await task.run(make_run_context(tmp_path))

    sent = http_recorder.requests[0]
    assert sent.text == "a,b\n1,2\n"
    assert sent.headers["content-type"] == "text/csv"


@pytest.mark.parametrize(
    ("status", "retryable"), [(404, False), (400, False), (429, True), (503, True)]
)
async def test_request_fails_on_non_2xx_with_the_answer_body(
    http_recorder, tmp_path, status, retryable
):
    http_recorder.respond("/x", Reply(status, {"error": "nope"}))

    with pytest.raises(TaskError) as caught:
        await _request(uri=f"{http_recorder.url}/x").run(make_run_context(tmp_path))

    assert caught.value.retryable is retryable
    assert f"HTTP {status}" in caught.value.message
    assert '{"error": "nope"}' in caught.value.message


async def test_request_returns_failed_answer_when_allow_failed(http_recorder, tmp_path):
    http_recorder.respond("/x", Reply(500, "down"))
    task = _request(uri=f"{http_recorder.url}/x", allow_failed=True)

    out = await task.run(make_run_context(tmp_path))

    assert (out.code, out.body) == (500, "down")


async def test_request_stores_bodies_over_one_mib(http_recorder, tmp_path):
    payload = bytes(range(256)) * 5000  # 1.28 MB
    http_recorder.respond("/big", Reply(200, payload))
    ctx = make_run_context(tmp_path)

    out = await _request(uri=f"{http_recorder.url}/big").run(ctx)

    assert out.body is None
    assert out.length == len(payload)
    assert ctx.storage.get_bytes(out.uri) == payload


async def test_request_follows_redirects_unless_disabled(http_recorder, tmp_path):
    http_recorder.respond("/old", Reply(302, headers={"Location": "/new"}))
    http_recorder.respond("/new", Reply(200, "moved here"))
    url = f"{http_recorder.url}/old"

    followed = await _request(uri=url).run(make_run_context(tmp_path))
    kept = await _request(
        uri=url, options={"followRedirects": False}, allow_failed=True
    ).run(make_run_context(tmp_path))

    assert (followed.code, followed.body) == (200, "moved here")
    assert kept.code == 302
    assert kept.headers["location"] == ["/new"]


async def test_request_raises_retryable_error_when_nothing_listens(tmp_path):
    task = _request(uri=f"http://127.0.0.1:{_closed_port()}/x?token=s3cret")

    with pytest.raises(TaskError) as caught:
        await task.run(make_run_context(tmp_path))

    assert caught.value.retryable
    assert "could not connect" in caught.value.message
    assert "s3cret" not in caught.value.message


async def test_request_raises_retryable_error_on_read_timeout(http_recorder, tmp_path):
    http_recorder.respond("/slow", Reply(200, "late", delay=1.0))
    task = _request(uri=f"{http_recorder.url}/slow", options={"readTimeout": "PT0.2S"})

    with pytest.raises(TaskError) as caught:
        await task.run(make_run_context(tmp_path))

    assert caught.value.retryable
    assert "timed out" in caught.value.message


async def test_request_refuses_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        _request(uri="http://127.0.0.1/", method="FETCH")


async def test_request_is_registered_under_kestra_names():
    assert task_class("io.kestra.plugin.core.http.Request") is Request
    assert task_class("http.Request") is Request


async def test_request_docstring_example_runs(http_recorder, tmp_path):
    http_recorder.respond("/items", Reply(201, {"id": "w1"}), method="POST")
    [props] = example_tasks(Request, uri=f"{http_recorder.url}/items")
    props = {k: v for k, v in props.items() if k not in ("id", "type")}

    out = await Request.model_validate(props).run(make_run_context(tmp_path))

    assert out.body == {"id": "w1"}
    assert http_recorder.requests[0].json() == {"name": "widget"}


def test_http_package_exports_sorted_all():
    import sluice.plugins.http as package

    assert package.__all__ == sorted(package.__all__)
