"""Engines for the event log's database, and the one place its errors are translated.

SQLite is set up for several processes sharing one file (a `sluice server` and a
`sluice run`): WAL, a busy timeout, `synchronous=NORMAL`, and transactions that begin
`IMMEDIATE`, i.e. take the write lock up front. A deferred transaction that reads and
then writes can find another writer got there first, and SQLite then fails at once
instead of waiting (the busy timeout does not apply to that upgrade). Read-only work
goes through `read_engine`, whose connections begin no transaction at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url

from sluice.core.errors import (
    AppendOnlyViolationError,
    ConcurrencyConflictError,
    DatabaseUnavailableError,
)
from sluice.eventstore.schema import APPEND_ONLY_MARKER

SQLITE_BEGIN = "sluice_sqlite_begin"
"""Execution option: how a SQLite transaction begins ("IMMEDIATE", "DEFERRED", "")."""

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another process's write lock."""


_ROLLED_BACK_BY_SERVER = ("40001", "40P01")  # serialization failure, deadlock


class WriteRaceError(ConcurrencyConflictError):
    """Another transaction got in the way of a write; trying again may succeed."""


def hide_password(url: str) -> str:
    """`url` with its password replaced by ***, whether or not the URL parses.

    Works on the text (not SQLAlchemy's parse), so a malformed URL, or a password with
    an unescaped `@`, is hidden all the same.
    """
    start = url.find("://")
    if start < 0:
        return "<a database URL that does not parse>" if "@" in url else url
    at = url.rfind("@")  # the last one: erring towards hiding too much
    colon = url.find(":", start + 3, at) if at > start else -1
    return url if colon < 0 else f"{url[: colon + 1]}***{url[at:]}"


def _normalise(url: str) -> URL:
    if not url.startswith("sqlite") and url.count("@") > 1:
        # Parsed, the rest of the password would become the host name, and the
        # driver's "cannot resolve host" message would show it.
        raise ValueError("percent-encode the special characters of the password")
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; SQLAlchemy's default would be psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_log_engine(url: str) -> sa.Engine:
    """An engine for `url`, configured for the event log; nothing is connected yet.

    Raises:
        DatabaseUnavailableError: the URL does not parse or names no supported database.
    """
    try:
        parsed = _normalise(url)
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        if parsed.get_backend_name() == "postgresql":
            return _postgres_engine(parsed)
    except (
        sa.exc.ArgumentError,
        sa.exc.NoSuchModuleError,
        ImportError,
        ValueError,
    ) as err:
        raise DatabaseUnavailableError(
            f"cannot open the event log at {hide_password(url)}: {err}"
        ) from err
    raise DatabaseUnavailableError(
        f"cannot open the event log at {hide_password(url)}: "
        "only sqlite:/// and postgresql+psycopg:// URLs are supported"
    )


def _postgres_engine(url: URL) -> sa.Engine:
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
    engine = sa.create_engine(url, connect_args=connect_args, pool_size=8)
    # One multi-row INSERT per batch instead of a statement per row.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def _sqlite_engine(url: URL) -> sa.Engine:
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # No implicit transactions from the sqlite3 module: `_on_begin` says how.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode:
            conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def read_engine(engine: sa.Engine) -> sa.Engine:
    """A view of `engine` for reads of one statement: no transaction, no write lock."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{SQLITE_BEGIN: ""})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def check_connection(engine: sa.Engine, url: str) -> None:
    """Connect once, so a bad URL fails at open rather than at the first append."""
    with translate_errors(url), engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


@contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn driver errors into sluice's: append-only refusals and unreachable databases.

    Other errors (unique violations, SQL mistakes) pass through unchanged: the caller
    knows what a unique violation means, and a bug should look like one.
    """
    try:
        yield
    except sa.exc.DBAPIError as err:
        message = str(err.orig)
        if getattr(err.orig, "sqlstate", None) in _ROLLED_BACK_BY_SERVER:
            raise WriteRaceError(message.strip().splitlines()[0]) from err
        if APPEND_ONLY_MARKER in message:
            raise AppendOnlyViolationError(message.splitlines()[0]) from err
        if isinstance(err, sa.exc.OperationalError) or err.connection_invalidated:
            reason = message.strip().splitlines()[0] if message.strip() else type(err)
            raise DatabaseUnavailableError(
                f"the event log at {hide_password(url)} is unavailable: {reason}"
            ) from err
        raise
