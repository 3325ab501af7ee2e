"""Blueprint fixtures: AWS clients pointed at moto, a Slack stand-in, shipped flows.

Blueprints are run as a user runs them: the shipped YAML, unchanged, against resources
created in moto under the names of the blueprint's defaults. Every AWS client goes to
moto through `AWS_ENDPOINT_URL` (the blueprints carry no endpoint property), and
`secret('SLACK_WEBHOOK')` resolves to the `slack_server` stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sluice.blueprints.demo_resources import DemoAws
from tests.engine.conftest import runtime  # noqa: F401 (the fixture, shared)


@pytest.fixture
def aws(moto_url, monkeypatch) -> Iterator[DemoAws]:
    """Every AWS client of the process goes to moto; yields clients and the seeding of
    the resources the blueprints name by default (the demo's own)."""
    from sluice.plugins.aws._connection import clear_caches

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    clear_caches()
    yield DemoAws(moto_url)
    clear_caches()


@pytest.fixture
def slack(slack_server, monkeypatch):
    """The Slack stand-in, as the `SLACK_WEBHOOK` secret the blueprints use."""
    monkeypatch.setenv("SECRET_SLACK_WEBHOOK", slack_server.webhook_url)
    return slack_server


def shipped(name: str) -> str:
    """The YAML of the shipped blueprint `name`."""
    from sluice.cli.blueprints import blueprint

    return blueprint(name).source
