from __future__ import annotations

import sqlalchemy as sa

from sluice.projections.audit_log import AUDIT_LOG
from sluice.projections.runner import catch_up
from tests.projections.workload import Plan, deploy, operator_action, record, run


def _audit(log):
    with log.engine.connect() as conn:
        return list(conn.execute(sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.position)))


def test_audit_log_records_who_resumed_killed_and_restarted_which_flow(log):
    record(log, deploy("prod", "rotate-keys", actor="user:alice"))
    run(
        log,
        Plan(
            "r1", flow_id="rotate-keys", tasks=("pause", "success"), resumer="user:bob"
        ),
        Plan("k1", flow_id="etl", tasks=("kill",), killer="user:carol"),
        Plan("f1", flow_id="etl", tasks=("fail",), restart=True),
    )
    catch_up(log)
    rows = [
        (r.action, r.actor, r.execution_id, r.namespace, r.flow_id) for r in _audit(log)
    ]
    assert rows == [
        ("deploy", "user:alice", None, "prod", "rotate-keys"),
        ("resume", "user:bob", "r1", "prod", "rotate-keys"),
        ("kill", "user:carol", "k1", "prod", "etl"),
        ("restart", "user:dave", "f1", "prod", "etl"),
    ]
    resume = _audit(log)[1]
    assert resume.detail["inputs"] == {"approved": True}
    assert resume.at is not None


def test_audit_log_records_trigger_fires_replays_and_operator_actions(log):
    run(log, Plan("t1", trigger_id="nightly"), Plan("t2", replay_of="t1"))
    record(log, operator_action("replay.view", "user:erin", "t1", to_version=3))
    catch_up(log)
    rows = _audit(log)
    assert [(r.action, r.actor, r.execution_id) for r in rows] == [
        ("trigger.fire", "trigger:prod/etl/nightly", "t1"),
        ("replay", "user:alice", "t2"),
        ("replay.view", "user:erin", "t1"),
    ]
    assert rows[1].detail["from"] == "t1"
    assert (rows[2].flow_id, rows[2].address, rows[2].detail) == (
        "etl",
        "127.0.0.1",
        {"to_version": 3},
    )


def test_audit_log_leaves_out_what_the_engine_does_by_itself(log):
    run(log, Plan("quiet", tasks=("success", "retry", "fail")))
    catch_up(log)
    assert _audit(log) == []
