"""The log under test: the event store on `db_url` (SQLite, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sluice.eventstore import SqlEventLog, open_event_log


@pytest.fixture
def log(db_url) -> Iterator[SqlEventLog]:
    """An empty event log (and the database its views live in)."""
    opened = open_event_log(db_url)
    yield opened
    opened.close()
