"""Alembic environment: runs on the connection `eventstore.migrate` hands over.

The caller has already begun one transaction (SQLite `BEGIN IMMEDIATE`, PostgreSQL with
an advisory lock), so Alembic joins it: an upgrade is all or nothing, and two processes
opening the same database at once migrate it once.
"""

from __future__ import annotations

from alembic import context

from sluice.eventstore.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
