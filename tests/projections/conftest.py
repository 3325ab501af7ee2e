"""The log under test: the real event store on `db_url` (SQLite, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def open_log(url: str):
    """The event log on `url` (the stand-in until sluice.eventstore lands)."""
    try:
        from sluice.eventstore import open_event_log
    except ImportError:
        from tests.projections.standin import StandInEventLog

        return StandInEventLog(url)
    return open_event_log(url)


@pytest.fixture
def log(db_url) -> Iterator[object]:
    """An empty event log (and the database its views live in)."""
    opened = open_log(db_url)
    yield opened
    opened.close()
