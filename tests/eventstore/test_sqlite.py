"""SQLite shared by processes: WAL, the write lock up front, reads that never wait."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from sluice.core.ports import ANY_VERSION
from sluice.eventstore import open_event_log
from tests.eventstore.builders import started, to, versions


@pytest.fixture
def log(sqlite_url):
    log = open_event_log(sqlite_url)
    yield log
    log.close()


def test_sqlite_connections_use_wal_normal_sync_and_a_busy_timeout(log):
    with log.engine.connect() as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA busy_timeout").scalar() == 30_000


def test_reads_do_not_wait_for_an_open_write_transaction(log):
    log.append("execution/a", [started()], 0)
    read: list[int] = []
    with log.transaction() as conn:
        log.append_many_in(conn, [to("execution/b", [started()])])
        reader = threading.Thread(
            target=lambda: read.append(len(log.read_stream("execution/a")))
        )
        reader.start()
        reader.join(timeout=5)
        assert read == [1]


WRITER = textwrap.dedent(
    """
    import sys
    from sluice.core.events import NewEvent, TaskRunStarted
    from sluice.eventstore import open_event_log

    log = open_event_log(sys.argv[1])
    print("ready", flush=True)
    event = NewEvent(event=TaskRunStarted(task_run_id="child"), actor="worker:child")
    for _ in range(40):
        log.append("execution/shared", [event], -1)
    log.close()
    """
)


def test_two_processes_appending_to_one_file_keep_the_stream_contiguous(sqlite_url):
    log = open_event_log(sqlite_url)
    command = [sys.executable, "-c", WRITER, sqlite_url]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout.readline() == "ready\n"
        appended = 0
        while child.poll() is None:  # keep writing for as long as the child does
            log.append("execution/shared", [started("parent")], ANY_VERSION)
            appended += 1
    assert child.returncode == 0
    assert versions(log, "execution/shared") == list(range(1, appended + 41))
    assert log.verify().ok
    log.close()
