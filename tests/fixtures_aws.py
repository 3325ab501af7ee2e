"""AWS fixtures: one moto server on 127.0.0.1 per test session, reset after each test.

Tasks get the server's URL as an ordinary `endpointOverride` property (`moto_url`);
`aws_env` sets fake credentials and the region for code that uses the default chain.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _post(url: str, body: bytes = b"", content_type: str = "application/json") -> None:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # loopback only
        resp.read()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 (random port) for the whole session; yields its URL.

    Started by the emulator helper the CLI uses, so Lambda runs without docker (invoke
    echoes the payload: see shared/reference/moto-coverage).
    """
    from sluice.plugins.aws.emulator import start_emulator

    emulator = start_emulator()
    try:
        yield emulator.url
    finally:
        emulator.stop()


@pytest.fixture
def aws_env(monkeypatch) -> None:
    """Fake credentials and region in the environment (boto3's default chain)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def moto_url(moto_server, aws_env) -> Iterator[str]:
    """The moto server's URL; state wiped after the test (and transitions unset)."""
    from sluice.plugins.aws._connection import clear_caches

    clear_caches()
    try:
        yield moto_server
    finally:
        _post(f"{moto_server}/moto-api/reset")
        for model in ("glue::job_run", "athena::execution"):
            _post(
                f"{moto_server}/moto-api/state-manager/unset-transition",
                json.dumps({"model_name": model}).encode(),
            )
        clear_caches()


def set_transition(moto_url: str, model: str, transition: dict) -> None:
    """Set a moto state-manager transition (e.g. glue::job_run manual times=2)."""
    _post(
        f"{moto_url}/moto-api/state-manager/set-transition",
        json.dumps({"model_name": model, "transition": transition}).encode(),
    )


def moto_post(moto_url: str, path: str, payload: dict) -> None:
    """POST JSON to a /moto-api path (seed Athena results, lambda responses, …)."""
    _post(f"{moto_url}{path}", json.dumps(payload).encode())
