"""Opening migrates once; migrating again is a no-op; upgrading keeps what is stored."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from sluice.core.events import TaskRunStarted
from sluice.core.ports import StreamAppend
from sluice.eventstore import open_event_log
from sluice.eventstore.chain import plan_appends
from sluice.eventstore.database import create_log_engine
from sluice.eventstore.migrate import current_revision, head_revision, upgrade
from sluice.eventstore.schema import events, metadata
from tests.eventstore.builders import started


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_open_migrates_a_fresh_database_to_the_newest_revision(db_url):
    log = open_event_log(db_url)
    with log.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    assert {"events", "work_items", "task_logs"} <= tables(log.engine)
    log.close()


def test_open_twice_is_a_no_op_that_keeps_events(db_url):
    first = open_event_log(db_url)
    first.append("execution/a", [started()], 0)
    first.close()
    second = open_event_log(db_url)
    assert len(second.read_stream("execution/a")) == 1
    upgrade(second.engine)
    assert second.verify().ok
    second.close()


def test_upgrade_from_the_first_revision_keeps_its_events(db_url):
    engine = create_log_engine(db_url)
    upgrade(engine, "0001")
    assert "work_items" not in tables(engine)
    append = StreamAppend(stream="execution/old", events=[started("t0")])
    rows, _ = plan_appends([append], {}, first_position=1)
    with engine.begin() as conn:
        conn.execute(events.insert(), [row._asdict() for row in rows])
    engine.dispose()

    log = open_event_log(db_url)
    [recorded] = log.read_stream("execution/old")
    assert recorded.event == TaskRunStarted(task_run_id="t0", attempt=1, worker="w1")
    log.append("execution/old", [started("t1")], 1)
    assert log.verify().ok
    log.close()


def test_migrated_tables_have_the_columns_the_queries_use(db_url):
    log = open_event_log(db_url)
    inspector = sa.inspect(log.engine)
    for table in metadata.sorted_tables:
        stored = {column["name"] for column in inspector.get_columns(table.name)}
        assert stored == set(table.columns.keys()), table.name
    log.close()


def test_open_without_migrate_leaves_the_database_untouched(db_url):
    log = open_event_log(db_url, migrate=False)
    assert "events" not in tables(log.engine)
    log.close()


def test_processes_opening_a_fresh_database_at_once_migrate_it_once(db_url):
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_event_log(db_url).close()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    log = open_event_log(db_url)
    log.append("execution/a", [started()], 0)
    log.close()
