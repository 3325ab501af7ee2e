"""Query latency of the admin views over a large history, and the cost of building them.

Puts N executions (100,000 by default, about 10 events each) in a fresh log with
`append_many` batches, builds every projection from zero with the `ProjectionRunner`
(then ANALYZE, as autovacuum would), and times the reads the admin CLI makes, first
pages of 50 rows, each repeated and reported as median and p95:

- `executions list --flow flow-7 --state FAILED`   (flow + state index)
- `executions list --flow flow-7`                  (flow index)
- `executions list --flow flow-7` page 40          (keyset cursor, deep page)
- `executions list --namespace ns-1 --label team=t3`
- `executions show <id>`
- `audit --actor user:u3`                          (actor index)
- `audit --action resume --flow flow-17 --since 7d`
- `catch_up` with nothing new (what every read command pays first)

    python benchmarks/bench_queries.py [--pg URL] [--only sqlite|postgresql]
                                       [--executions 100000] [--repeat 50]

PostgreSQL comes from --pg or TEST_DATABASE_URL (a throwaway schema); SQLite is a temp
file. Target: every first page under 100 ms on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from bench_append import with_schema

from sluice.core.events import (
    Event,
    ExecutionCreated,
    ExecutionEnded,
    ExecutionKillRequested,
    ExecutionPaused,
    ExecutionResumed,
    ExecutionStarted,
    NewEvent,
    TaskRunCreated,
    TaskRunEnded,
    TaskRunFailed,
    TaskRunStarted,
    TaskRunSucceeded,
    TriggerFired,
)
from sluice.core.ports import StreamAppend
from sluice.eventstore import SqlEventLog, open_event_log
from sluice.projections import (
    AuditFilter,
    ExecutionFilter,
    catch_up,
    get_execution,
    list_executions,
    search_audit,
)
from sluice.projections.catalog import PROJECTIONS
from sluice.projections.runner import ProjectionRunner

PER_APPEND = 200  # executions per append_many (one transaction)


def history(i: int) -> list[StreamAppend]:
    """One execution's events: 20 flows, 4 namespaces, 80 % success, some approvals."""
    execution, flow, ns = f"x{i:07d}", f"flow-{i % 20}", f"ns-{i % 4}"
    kind = (i // 20) % 20  # what happens, spread over every flow
    trigger = {"id": "daily", "type": "core.Schedule"} if i % 3 == 0 else None
    created = ExecutionCreated(
        execution_id=execution, namespace=ns, flow_id=flow, flow_revision=1,
        labels={"team": f"t{i % 5}"}, trigger=trigger,
    )  # fmt: skip
    steps: list[tuple[str, Event]] = [
        ("scheduler", created),
        ("scheduler", ExecutionStarted()),
    ]
    for n in range(2):
        steps += task_run(f"{execution}-t{n}", n, kind if n == 1 else 0, i)
    if kind != 19:  # 19: still running
        end = {16: "FAILED", 18: "KILLED"}.get(kind, "SUCCESS")
        steps.append(("scheduler", ExecutionEnded(state=end)))  # type: ignore[arg-type]
    events = [NewEvent(event=e, actor=a) for a, e in steps]
    appends = [StreamAppend(stream=f"execution/{execution}", events=events)]
    if trigger:
        fired = TriggerFired(
            trigger_id="daily", namespace=ns, flow_id=flow, execution_id=execution
        )
        actor = NewEvent(event=fired, actor=f"trigger:{ns}/{flow}/daily")
        appends.append(
            StreamAppend(stream=f"trigger/{ns}/{flow}/daily", events=[actor])
        )
    return appends


def task_run(run: str, n: int, kind: int, i: int) -> list[tuple[str, Event]]:
    """A task run's events: kind 16 fails, 17 pauses for approval, 18 is killed."""
    steps: list[tuple[str, Event]] = [
        ("scheduler", TaskRunCreated(task_run_id=run, task_id=f"task{n}")),
        ("worker:w1", TaskRunStarted(task_run_id=run, worker="w1")),
    ]
    user = f"user:u{i % 10}"
    if kind == 16:
        failed = TaskRunFailed(
            task_run_id=run, attempt=1, error_type="Denied", message="no"
        )
        ended = TaskRunEnded(task_run_id=run, state="FAILED")
        return [*steps, ("worker:w1", failed), ("scheduler", ended)]
    if kind == 17:
        resumed = ExecutionResumed(task_run_id=run, by=user, inputs={"ok": True})
        return [
            *steps,
            ("scheduler", ExecutionPaused(task_run_id=run)),
            (user, resumed),
        ]
    if kind == 18:
        ended = TaskRunEnded(task_run_id=run, state="KILLED")
        return [*steps, (user, ExecutionKillRequested(by=user)), ("scheduler", ended)]
    if kind == 19:
        return steps
    outputs = {"rows": i}
    return [
        *steps,
        ("worker:w1", TaskRunSucceeded(task_run_id=run, attempt=1, outputs=outputs)),
    ]


def fill(log: SqlEventLog, executions: int) -> tuple[int, float]:
    """Append the histories; return (events, seconds)."""
    started, events = time.perf_counter(), 0
    for first in range(0, executions, PER_APPEND):
        appends = [
            a
            for i in range(first, min(first + PER_APPEND, executions))
            for a in history(i)
        ]
        events += sum(len(a.events) for a in appends)
        log.append_many(appends)
    return events, time.perf_counter() - started


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, p95) in milliseconds of `repeat` calls, after one warm-up call."""
    call()
    laps = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        laps.append((time.perf_counter() - started) * 1000)
    laps.sort()
    return statistics.median(laps), laps[min(len(laps) - 1, int(len(laps) * 0.95))]


def deep_cursor(
    engine: sa.Engine, where: ExecutionFilter, pages: int
) -> tuple[int, str]:
    """(page, cursor) of page `pages`, or of the last page if there are fewer."""
    page, cursor = 1, None
    while page < pages:
        found = list_executions(engine, where, after=cursor).next_cursor
        if found is None:
            break
        page, cursor = page + 1, found
    assert cursor, "too few executions for a second page"
    return page, cursor


def queries(log: SqlEventLog) -> dict[str, Callable[[], object]]:
    engine = log.engine
    failed = ExecutionFilter(flow_id="flow-7", states=("FAILED",))
    flow = ExecutionFilter(flow_id="flow-7")
    page, deep = deep_cursor(engine, flow, 40)
    shown = list_executions(engine, flow).executions[7].id
    labelled = ExecutionFilter(namespace="ns-1", labels={"team": "t3"})
    week = datetime.now(UTC) - timedelta(days=7)
    approvals = AuditFilter(action="resume", flow_id="flow-17", since=week)
    return {
        "executions list --flow --state FAILED": lambda: list_executions(
            engine, failed
        ),
        "executions list --flow": lambda: list_executions(engine, flow),
        f"executions list --flow, page {page}": lambda: list_executions(
            engine, flow, after=deep
        ),
        "executions list --namespace --label": lambda: list_executions(
            engine, labelled
        ),
        "executions show": lambda: get_execution(engine, shown),
        "audit --actor": lambda: search_audit(engine, AuditFilter(actor="user:u3")),
        "audit --action resume --flow --since 7d": lambda: search_audit(
            engine, approvals
        ),
        "catch_up (nothing new)": lambda: catch_up(log),
    }


def bench(title: str, url: str, args: argparse.Namespace) -> None:
    log = open_event_log(url)
    try:
        events, seconds = fill(log, args.executions)
        rate = events / seconds
        print(f"\n== {title}: {args.executions:,} executions, {events:,} events")
        print(f"   appended in {seconds:.1f}s ({rate:,.0f} events/s)")
        started = time.perf_counter()
        ProjectionRunner(log, batch_size=2000).run_once()
        built = time.perf_counter() - started
        rate = events / built
        print(f"   projections built from zero in {built:.1f}s ({rate:,.0f} events/s)")
        with log.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            for projection in PROJECTIONS.values():
                for table in projection.tables:
                    conn.execute(sa.text(f"ANALYZE {table.name}"))
        print(
            f"   {'query (first page of 50 unless said)':<46} {'median':>9} {'p95':>9}"
        )
        for name, call in queries(log).items():
            median, p95 = timed(call, args.repeat)
            print(f"   {name:<46} {median:>7.2f}ms {p95:>7.2f}ms")
    finally:
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            bench("SQLite", f"sqlite:///{folder}/bench.db", args)
    if args.only != "sqlite" and args.pg:
        url, drop = with_schema(args.pg)
        try:
            bench("PostgreSQL", url, args)
        finally:
            drop()


if __name__ == "__main__":
    main()
