"""Shared fixtures: the database under test, time, and (per area) AWS and HTTP servers.

The database is chosen by `SLUICE_TEST_DB` (`sqlite`, the default, or `postgres`).
PostgreSQL comes from `TEST_DATABASE_URL`; each test gets a fresh schema `t_<hex>` that
is dropped afterwards. Without a URL, PostgreSQL tests fail in CI and skip locally.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.fixtures_db", "tests.fixtures_aws", "tests.fixtures_http"]


def _wanted_backend() -> str:
    return os.environ.get("SLUICE_TEST_DB", "sqlite")


@pytest.fixture
def backend() -> str:
    """Which event-log backend this run tests: 'sqlite' or 'postgres'."""
    return _wanted_backend()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for resource names."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def data_dir(tmp_path) -> Iterator[str]:
    """A fresh `.sluice` data directory."""
    path = tmp_path / ".sluice"
    path.mkdir()
    yield str(path)
