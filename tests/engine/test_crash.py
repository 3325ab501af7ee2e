"""A real `sluice server` is killed with SIGKILL mid-flow; a new one finishes the flow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from sluice.cli.runtime import Runtime
from sluice.eventstore import open_event_log
from tests.engine.conftest import flow_source

FLOW = """
    id: survivor
    namespace: crash
    tasks:
      - id: first
        type: core.Return
        format: one
      - id: flaky
        type: core.Fail
        condition: "{{ taskrun.attemptsCount < 2 }}"
        retry:
          type: constant
          interval: PT0.3S
          maxAttempts: 3
      - id: nap
        type: core.Sleep
        duration: PT2S
      - id: last
        type: core.Return
        format: "{{ outputs.first.value }} done"
"""


def start_server(
    db_url: str, data_dir: str, flows_dir: str, out
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SLUICE_LEASE_SECONDS": "2", "SLUICE_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sluice.cli",
            "--db",
            db_url,
            "--data-dir",
            data_dir,
            "server",
            "--flows",
            flows_dir,
        ],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_killed_server_is_replaced_and_the_flow_finishes_exactly_once(db_url, tmp_path):
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    (flows_dir / "survivor.yaml").write_text(flow_source(FLOW))
    data_dir = str(tmp_path / "data")
    log = open_event_log(db_url)
    runtime = Runtime.open(log, data_dir)
    flow = runtime.flows.deploy(flow_source(FLOW))
    execution_id = runtime.create_execution(flow, {}, actor="user:test", from_cli=False)
    stream = f"execution/{execution_id}"

    def kinds() -> list[str]:
        return [e.type for e in log.read_stream(stream)]

    with open(tmp_path / "server1.log", "wb") as out1:
        first = start_server(db_url, data_dir, str(flows_dir), out1)
        try:
            wait_for(lambda: "TaskRunWaiting" in kinds(), 30, "the Sleep to start")
            assert "TaskRunRetryScheduled" in kinds()
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
    assert "ExecutionEnded" not in kinds()

    with open(tmp_path / "server2.log", "wb") as out2:
        second = start_server(db_url, data_dir, str(flows_dir), out2)
        try:
            wait_for(
                lambda: "ExecutionEnded" in kinds(), 30, "the second server to finish"
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
    output = (tmp_path / "server2.log").read_text()
    assert second.returncode == 0, output

    events = log.read_stream(stream)
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    state = runtime.state(execution_id)
    assert state.state == "SUCCESS"
    assert state.task_runs["last"].outputs == {"value": "one done"}
    successes = Counter(
        e.event.task_run_id for e in events if e.type == "TaskRunSucceeded"
    )
    assert successes == {"first": 1, "flaky": 1, "nap": 1, "last": 1}
    assert log.verify().ok
    log.close()
