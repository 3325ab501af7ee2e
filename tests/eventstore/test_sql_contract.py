"""The event-log contract on the SQL log, on the backend of this run (SLUICE_TEST_DB).

The default run uses SQLite; `SLUICE_TEST_DB=postgres` runs the same on PostgreSQL.
"""

from __future__ import annotations

import pytest

from sluice.eventstore import open_event_log
from tests.eventstore.contract import EventLogContract


class TestSqlEventLog(EventLogContract):
    @pytest.fixture
    def log(self, db_url):
        log = open_event_log(db_url)
        yield log
        log.close()
