"""Engine throughput: a flow of 3 no-op tasks, N executions, on SQLite and PostgreSQL.

Prints executions/s and p50/p99 time from creation to end (all N created at once, then
run by one in-process scheduler), one-at-a-time latency, fold speed (events/s to rebuild
every execution from the log) and, on the same PostgreSQL in the same run, DBOS Transact
running N workflows of 3 trivial steps, with the ratio.

    python benchmarks/bench_engine.py [--n 1000] [--pg URL] [--skip-dbos]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

from sluice.cli.run import stop_when_settled
from sluice.cli.runtime import Runtime
from sluice.core.decide import execution_stream
from sluice.core.events import ExecutionCreated, NewEvent
from sluice.core.ports import StreamAppend
from sluice.core.state import fold
from sluice.eventstore import open_event_log

FLOW = """
id: noop3
namespace: bench
tasks:
  - id: a
    type: core.Return
    format: a
  - id: b
    type: core.Return
    format: b
  - id: c
    type: core.Return
    format: c
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def throughput(runtime: Runtime, n: int) -> dict[str, float]:
    flow = runtime.flows.deploy(FLOW)
    ids = [uuid.uuid4().hex[:16] for _ in range(n)]
    appends = [
        StreamAppend(
            stream=execution_stream(i),
            expected_version=0,
            events=[
                NewEvent(
                    event=ExecutionCreated(
                        execution_id=i,
                        namespace=flow.namespace,
                        flow_id=flow.id,
                        flow_revision=flow.revision,
                    ),
                    actor="bench",
                )
            ],
        )
        for i in ids
    ]
    for start in range(0, n, 500):
        runtime.log.append_many(appends[start : start + 500])
    scheduler = runtime.scheduler(concurrency=64)
    stop = asyncio.Event()
    remaining = set(ids)

    def watch(recorded) -> None:
        if recorded.type == "ExecutionEnded":
            remaining.discard(recorded.stream.split("/", 1)[1])
            if not remaining:
                stop.set()

    scheduler.listeners.append(watch)
    began = time.perf_counter()
    await scheduler.run(stop)
    elapsed = time.perf_counter() - began
    latencies = []
    for i in ids:
        events = runtime.log.read_stream(execution_stream(i))
        latencies.append(
            (events[-1].recorded_at - events[0].recorded_at).total_seconds() * 1000
        )
    return {
        "exec_per_s": n / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": pct(latencies, 0.99),
        "elapsed_s": elapsed,
    }


async def one_at_a_time(runtime: Runtime, n: int) -> dict[str, float]:
    flow = runtime.flows.deploy(FLOW)
    times = []
    for _ in range(n):
        began = time.perf_counter()
        execution_id = runtime.create_execution(flow, {}, actor="bench", from_cli=False)
        state = await runtime.drive(execution_id, stop_when_settled)
        assert state.state == "SUCCESS", state.state
        times.append((time.perf_counter() - began) * 1000)
    return {"p50_ms": statistics.median(times), "p99_ms": pct(times, 0.99)}


def fold_speed(runtime: Runtime) -> dict[str, float]:
    streams = runtime.log.streams("execution/")
    events = [runtime.log.read_stream(s) for s in streams]
    count = sum(len(e) for e in events)
    began = time.perf_counter()
    for stream_events in events:
        fold(stream_events)
    elapsed = time.perf_counter() - began
    return {"events": count, "events_per_s": count / elapsed}


def dbos_run(pg_url: str, n: int) -> dict[str, float] | None:
    try:
        from dbos import DBOS
    except ImportError:
        print("  dbos not installed (pip install dbos): peer skipped")
        return None
    schema_url = pg_url

    @DBOS.step()
    def step(x: int) -> int:
        return x + 1

    @DBOS.workflow()
    def three(x: int) -> int:
        return step(step(step(x)))

    DBOS(
        config={
            "name": "bench",
            "system_database_url": schema_url.replace("+psycopg", ""),
        }
    )
    DBOS.launch()
    try:
        began = time.perf_counter()
        handles = [DBOS.start_workflow(three, i) for i in range(n)]
        for handle in handles:
            handle.get_result()
        elapsed = time.perf_counter() - began
    finally:
        DBOS.destroy()
    return {"wf_per_s": n / elapsed, "elapsed_s": elapsed}


def fresh_pg_database(base: str, name: str) -> str:
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return (
        sa.engine.make_url(base)
        .set(database=name)
        .render_as_string(hide_password=False)
    )


def bench(url: str, label: str, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as data:
        log = open_event_log(url)
        runtime = Runtime.open(log, data)
        result = asyncio.run(throughput(runtime, n))
        single = asyncio.run(one_at_a_time(runtime, 50))
        folded = fold_speed(runtime)
        log.close()
    print(
        f"{label}: {n} executions of 3 tasks: {result['exec_per_s']:.0f} executions/s "
        f"(p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms from creation to end "
        f"with all {n} queued at once)"
    )
    print(
        f"{label}: one at a time: p50 {single['p50_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms"
    )
    print(
        f"{label}: fold: {folded['events_per_s']:,.0f} events/s over {folded['events']} events"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--skip-dbos", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.db", "SQLite", args.n)
    if not args.pg:
        print("PostgreSQL: no --pg/TEST_DATABASE_URL, skipped")
        return
    ours = bench(fresh_pg_database(args.pg, "sluice_bench"), "PostgreSQL", args.n)
    if not args.skip_dbos:
        peer = dbos_run(fresh_pg_database(args.pg, "dbos_bench"), args.n)
        if peer:
            print(
                f"DBOS on the same PostgreSQL: {peer['wf_per_s']:.0f} workflows/s; "
                f"sluice/DBOS = {ours['exec_per_s'] / peer['wf_per_s']:.2f}x"
            )


if __name__ == "__main__":
    sys.exit(main())
