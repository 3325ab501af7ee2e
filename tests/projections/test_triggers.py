from __future__ import annotations

import sqlalchemy as sa

from sluice.projections.runner import catch_up
from sluice.projections.triggers import TRIGGERS
from tests.projections.workload import Plan, record, run, trigger_noise


def test_triggers_view_counts_fires_and_failures_and_keeps_the_cursor(log):
    record(log, trigger_noise("prod", "ingest", "s3", 5))
    run(log, Plan("a", flow_id="ingest", trigger_id="s3"))
    run(log, Plan("b", flow_id="ingest", trigger_id="s3"))
    catch_up(log)
    with log.engine.connect() as conn:
        row = conn.execute(sa.select(TRIGGERS)).one()
    assert (row.namespace, row.flow_id, row.trigger_id) == ("prod", "ingest", "s3")
    assert (row.fire_count, row.last_execution_id) == (2, "b")
    assert row.cursor == {"after": "key-4"}
    assert (row.failure_count, row.last_failure) == (1, "Timeout: poll 2 timed out")
    assert row.last_fired_at >= row.cursor_at


def test_triggers_view_creates_the_row_on_a_first_fire(log):
    run(log, Plan("a", flow_id="ingest", trigger_id="cron"))
    catch_up(log)
    with log.engine.connect() as conn:
        row = conn.execute(sa.select(TRIGGERS)).one()
    assert (row.fire_count, row.failure_count, row.cursor) == (1, 0, None)
