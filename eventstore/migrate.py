"""Bring a database's event-log tables to the newest schema (Alembic revisions).

The whole upgrade runs in one transaction that first takes a lock (SQLite
`BEGIN IMMEDIATE`, a PostgreSQL advisory lock per schema), so a `sluice server` and a
`sluice run` opening the same database at once migrate it exactly once. Opening an
up-to-date database costs one query: the head revision is read from the scripts once
per process.
"""

from __future__ import annotations

import functools
import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sluice.eventstore.database import read_engine

VERSION_TABLE = "eventstore_alembic_version"
"""Our own version table, so other Alembic users of the same database stay apart."""

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "eventstore/migrations has no revisions"
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision the database is at (None if it was never migrated)."""
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE}
    )
    return context.get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the newest); a no-op if it is there.

    Args:
        engine: an engine made by `sluice.eventstore.open_event_log` (on SQLite its
            transactions begin IMMEDIATE, which the lock relies on).
        revision: an Alembic revision id, or "head".
    """
    target = head_revision() if revision == "head" else revision
    with read_engine(engine).connect() as conn:
        if current_revision(conn) == target:
            return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
            )
        command.upgrade(_config(conn), target)
