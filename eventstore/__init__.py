"""The append-only event log: SQLite (default) and PostgreSQL on SQLAlchemy Core.

    from sluice.eventstore import open_event_log
    log = open_event_log("sqlite:///.sluice/sluice.db")   # migrated on open

`SqlEventLog` is `sluice.core.ports.EventLog` and `LogStore`; the reference
`InMemoryEventLog` lives in `sluice.eventstore.memory`.
"""

from sluice.eventstore.codec import UpcasterRegistry, register_upcaster, upcasters
from sluice.eventstore.sql import SqlEventLog, open_event_log

__all__ = [
    "SqlEventLog",
    "UpcasterRegistry",
    "open_event_log",
    "register_upcaster",
    "upcasters",
]
