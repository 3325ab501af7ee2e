from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.projections.clirun import event_log, sluice
from tests.projections.workload import Plan, deploy, operator_action, record, run


@pytest.fixture
def history(db_url):
    """Approvals of two flows by two people, a kill, a deploy and a replay view."""
    with event_log(db_url) as log:
        record(log, deploy("prod", "rotate-keys", actor="user:alice"))
        run(
            log,
            Plan("r1", flow_id="rotate-keys", tasks=("pause",), resumer="user:bob"),
            Plan("r2", flow_id="rotate-keys", tasks=("pause",), resumer="user:alice"),
            Plan("x1", flow_id="etl", tasks=("pause",), resumer="user:bob"),
            Plan("k1", flow_id="etl", tasks=("kill",), killer="user:carol"),
        )
        record(log, operator_action("replay.view", "user:erin", "r1", to_version=3))
    return db_url


def _entries(db_url, *args):
    result = sluice(db_url, "audit", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["entries"]


def test_audit_answers_who_approved_a_flow_last_week(history):
    entries = _entries(
        history, "--action", "resume", "--flow", "rotate-keys", "--since", "7d"
    )
    assert [(e["actor"], e["execution_id"]) for e in entries] == [
        ("user:alice", "r2"),
        ("user:bob", "r1"),
    ]
    assert entries[0]["detail"]["inputs"] == {"approved": True}
    assert entries[0]["namespace"] == "prod"


def test_audit_filters_by_actor_short_name_and_execution(history):
    assert [e["action"] for e in _entries(history, "--actor", "carol")] == ["kill"]
    by_execution = _entries(history, "--execution", "r1")
    assert [e["action"] for e in by_execution] == ["replay.view", "resume"]
    assert by_execution[0]["address"] == "127.0.0.1"


def test_audit_action_matches_its_sub_actions(history):
    assert [e["action"] for e in _entries(history, "--action", "replay")] == [
        "replay.view"
    ]


def test_audit_until_an_old_date_finds_nothing(history):
    assert _entries(history, "--until", "2000-01-01") == []


def test_audit_pages_newest_first(history):
    first = json.loads(sluice(history, "audit", "--limit", "2", "--json").stdout)
    second = json.loads(
        sluice(
            history,
            "audit",
            "--limit",
            "10",
            "--after",
            str(first["next_after"]),
            "--json",
        ).stdout
    )
    positions = [e["position"] for e in first["entries"] + second["entries"]]
    assert positions == sorted(positions, reverse=True)
    assert len(positions) == 6
    assert second["next_after"] is None


def test_audit_prints_a_table(history):
    lines = sluice(history, "audit", "--flow", "rotate-keys").stdout.splitlines()
    assert lines[0].split()[:2] == ["POSITION", "AT"]
    assert [line.split()[3] for line in lines[1:]] == [
        "user:erin",
        "user:alice",
        "user:bob",
        "user:alice",
    ]


def test_audit_rejects_a_bad_time_with_exit_2(history):
    result = sluice(history, "audit", "--since", "yesterday-ish")
    assert result.exit_code == 2
    assert "is not a time" in result.stderr


def test_audit_verify_reports_an_intact_log(history):
    result = sluice(history, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")


def _tamper(engine, stream: str, version: int) -> int:
    """Rewrite one stored event behind the log's back, as an intruder could."""
    with engine.begin() as conn:
        target = conn.execute(
            sa.text("SELECT position FROM events WHERE stream = :s AND version = :v"),
            {"s": stream, "v": version},
        ).scalar_one()
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
            )
        else:
            conn.execute(sa.text("DROP TRIGGER events_no_update"))
        conn.execute(
            sa.text("UPDATE events SET actor = 'user:mallory' WHERE position = :p"),
            {"p": target},
        )
    return target


def test_audit_verify_names_the_first_altered_event_and_exits_1(history):
    with event_log(history) as log:
        target = _tamper(log.engine, "execution/r2", 3)
    result = sluice(history, "audit", "verify")
    assert result.exit_code == 1
    assert (
        f"ALTERED: event at position {target} (stream execution/r2, version 3)"
        in result.stderr
    )
