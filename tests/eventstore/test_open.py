"""Opening an unreachable database fails at once, naming it without its password."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from sluice.core.errors import DatabaseUnavailableError
from sluice.eventstore import open_event_log
from tests.eventstore.builders import started


def test_open_raises_unavailable_without_the_password_when_server_refuses():
    url = (
        "postgresql+psycopg://sluice:s3cr%40t%2Fpw@127.0.0.1:9/sluice?connect_timeout=2"
    )
    with pytest.raises(DatabaseUnavailableError) as caught:
        open_event_log(url)
    message = str(caught.value)
    assert "127.0.0.1:9/sluice" in message
    assert "sluice:***@" in message
    assert "s3cr" not in message


def test_open_raises_unavailable_when_sqlite_directory_is_missing(tmp_path):
    url = f"sqlite:///{tmp_path}/missing/dir/sluice.db"
    with pytest.raises(DatabaseUnavailableError, match=r"missing/dir/sluice\.db"):
        open_event_log(url)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://admin:hunter2@db.example/sluice",
        "not a url at all :hunter2@",
        "postgresql+psycopg://admin:hunter2@db.example:notaport/sluice",
        "postgresql+psycopg://admin:hun@ter2@db.example/sluice",
        "postgresql+psycopg://admin:hun@t:/?#[]%ter2@db.example/sluice",
    ],
)
def test_open_raises_unavailable_without_the_password_when_url_is_unsupported(url):
    with pytest.raises(DatabaseUnavailableError) as caught:
        open_event_log(url)
    assert "hunter2" not in str(caught.value)
    assert "ter2" not in str(caught.value)


@pytest.mark.postgres
def test_open_accepts_a_postgresql_url_without_driver(pg_url):
    url = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    log = open_event_log(url)
    assert log.dialect_name == "postgresql"
    log.append("execution/a", [started()], 0)
    log.close()


def test_log_repr_hides_the_password():
    log = open_event_log("sqlite://")
    assert repr(log) == "SqlEventLog('sqlite://')"
    log.close()
