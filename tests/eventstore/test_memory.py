"""The event-log contract on the in-memory reference implementation."""

from __future__ import annotations

import pytest

from sluice.eventstore.memory import InMemoryEventLog
from tests.eventstore.contract import EventLogContract


class TestInMemoryEventLog(EventLogContract):
    @pytest.fixture
    def log(self):
        return InMemoryEventLog()
