"""The local AWS emulator (plugins/aws/emulator.py); S3 is what its callers use most."""

import json
import socket
import sys
import urllib.request

import pytest

from sluice.plugins.aws.emulator import EmulatorError, start_emulator
from sluice.plugins.aws.s3.upload import Upload
from tests.plugin_context import make_run_context


@pytest.fixture
def emulator():
    running = start_emulator()
    yield running
    running.stop()


async def test_emulator_serves_tasks_pointed_at_it(emulator, tmp_path, monkeypatch):
    for name, value in emulator.environment().items():
        monkeypatch.setenv(name, value)
    assert emulator.ensure_buckets(["demo-in", "demo-out", "demo-in"]) == [
        "demo-in",
        "demo-out",
    ]
    task = Upload.model_validate(
        {**emulator.connection(), "bucket": "demo-in", "key": "k", "content": "v"}
    )

    outputs = await task.run(make_run_context(tmp_path))

    assert emulator.url.startswith("http://127.0.0.1:")
    assert outputs.e_tag
    assert emulator.ensure_buckets(["demo-in"]) == []


def test_emulator_switches_lambda_to_docker_free_backend(emulator):
    with urllib.request.urlopen(f"{emulator.url}/moto-api/config") as response:
        config = json.loads(response.read())

    assert config["lambda"]["use_docker"] is False


def test_emulator_stop_closes_the_port(emulator):
    port = int(emulator.url.rsplit(":", 1)[1])

    emulator.stop()
    emulator.stop()

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_emulator_refuses_taken_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        with pytest.raises(EmulatorError, match=f"port {port}"):
            start_emulator(port)


def test_emulator_without_moto_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "moto.server", None)

    with pytest.raises(EmulatorError, match=r"pip install 'sluice\[emulator\]'"):
        start_emulator()
