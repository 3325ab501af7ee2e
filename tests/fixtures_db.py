"""Database fixtures: `db_url` is a fresh, empty database for one test.

SQLite: a file in the test's tmp dir. PostgreSQL: a fresh schema `t_<hex>` in the
database of `TEST_DATABASE_URL`, put first on the search_path through the URL, dropped
after the test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url


def postgres_base_url() -> str | None:
    """The PostgreSQL URL of this test run, or None."""
    return os.environ.get("TEST_DATABASE_URL") or None


def require_postgres() -> str:
    """The PostgreSQL URL; fail in CI and skip locally when there is none."""
    url = postgres_base_url()
    if url:
        return url
    reason = "TEST_DATABASE_URL is not set: no PostgreSQL to test against"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def with_search_path(url: str, schema: str) -> str:
    """`url` with `schema` first on the search_path (libpq `options`)."""
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, whatever SLUICE_TEST_DB says."""
    base = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(base, schema)
    finally:
        with admin.connect() as conn:
            # A connection a failed test left inside a transaction would block the drop
            # forever: fail this teardown instead of hanging the whole run.
            conn.execute(sa.text("SET lock_timeout = '10s'"))
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'sluice.db'}"


@pytest.fixture
def db_url(request, tmp_path) -> str:
    """A fresh database of the backend this run tests (SLUICE_TEST_DB)."""
    if os.environ.get("SLUICE_TEST_DB", "sqlite") == "postgres":
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("sqlite_url")
