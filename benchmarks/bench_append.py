"""Append rate of the event log against the raw limit of the same database and driver.

On SQLite (a temp file) and PostgreSQL (a throwaway schema), in one run, interleaved:

- raw, batch: plain multi-row INSERTs of prepared rows (100 per transaction) into the
  same `events` table, straight through the driver (sqlite3 / psycopg);
- sluice, batch: `append_many` of 100 events across 50 streams per transaction;
- raw, single: one prepared row per INSERT and transaction;
- sluice, single: `append` of one event per transaction (p50/p99 latency).

Prints medians over the runs, and each sluice figure as a fraction of its raw limit.

    python benchmarks/bench_append.py [--pg URL] [--runs 5] [--profile]

PostgreSQL comes from --pg or TEST_DATABASE_URL; without either only SQLite runs.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from sluice.core.events import NewEvent, TaskRunSucceeded
from sluice.core.ports import StreamAppend
from sluice.eventstore import SqlEventLog, open_event_log
from sluice.eventstore.chain import EVENT_COLUMNS, EventRow, plan_appends

BATCH = 100
STREAMS_PER_BATCH = 50
_ids = itertools.count(1)
_raw_positions = itertools.count(-1, -1)  # below every position sluice gives out


def new_event(execution: str) -> NewEvent:
    """A task-run result of about 300 bytes, as a worker reports it."""
    n = next(_ids)
    event = TaskRunSucceeded(
        task_run_id=f"extract-orders-{n}",
        attempt=1,
        outputs={
            "uri": f"storage://sales/daily/{execution}/extract/orders-{n}.csv",
            "rows": 12_345 + n, "bytes": 9_876_543, "etag": uuid.uuid4().hex,
        },
    )  # fmt: skip
    return NewEvent(
        event=event, actor="worker:host-1:4242", correlation_id=execution,
        idempotency_key=f"{execution}:extract-orders-{n}:1",
    )  # fmt: skip


def batch_appends() -> list[StreamAppend]:
    """One scheduler batch: 100 events over 50 executions (2 each)."""
    appends = []
    for _ in range(STREAMS_PER_BATCH):
        execution = uuid.uuid4().hex[:16]
        events = [new_event(execution) for _ in range(BATCH // STREAMS_PER_BATCH)]
        appends.append(StreamAppend(stream=f"execution/{execution}", events=events))
    return appends


def raw_rows(batches: int, per_batch: int) -> list[list[EventRow]]:
    """Prepared rows (chained, hashed) for the raw inserts, in streams of their own."""
    out = []
    for _ in range(batches):
        appends = batch_appends()
        rows, _ = plan_appends(appends, {}, 0)
        out.append([
            row._replace(
                position=next(_raw_positions), stream=f"raw/{row.stream}",
                idempotency_key=f"raw:{row.idempotency_key}",
            )
            for row in rows[:per_batch]
        ])  # fmt: skip
    return out


def raw_insert(log: SqlEventLog, batches: list[list[EventRow]]) -> list[float]:
    """Insert each batch with one multi-row INSERT and commit; seconds per batch."""
    pg = log.dialect_name == "postgresql"
    mark = "%s" if pg else "?"
    json = f"{mark}::json" if pg else mark
    one = "(" + ", ".join(json if c == "data" else mark for c in EVENT_COLUMNS) + ")"
    times = []
    raw = log.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for rows in batches:
            sql = (
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES "
                + ", ".join([one] * len(rows))
            )
            params = [v for row in rows for v in row]
            start = time.perf_counter()
            if not pg:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(sql, params)
            raw.commit()
            times.append(time.perf_counter() - start)
    finally:
        raw.close()
    return times


def raw_copy(log: SqlEventLog, batches: list[list[EventRow]]) -> list[float]:
    """PostgreSQL only: COPY each batch and commit; seconds per batch."""
    sql = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
    times = []
    raw = log.engine.raw_connection()
    try:
        driver = raw.driver_connection
        for rows in batches:
            start = time.perf_counter()
            with driver.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            driver.commit()
            times.append(time.perf_counter() - start)
    finally:
        raw.close()
    return times


def sluice_batches(log: SqlEventLog, batches: int) -> list[float]:
    prepared = [batch_appends() for _ in range(batches)]
    times = []
    for appends in prepared:
        start = time.perf_counter()
        log.append_many(appends)
        times.append(time.perf_counter() - start)
    return times


def sluice_singles(log: SqlEventLog, count: int) -> list[float]:
    execution = uuid.uuid4().hex[:16]
    prepared = [new_event(execution) for _ in range(count)]
    times = []
    for version, event in enumerate(prepared):
        start = time.perf_counter()
        log.append(f"execution/{execution}", [event], version)
        times.append(time.perf_counter() - start)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    log: SqlEventLog, runs: int, batches: int, singles: int
) -> dict[str, float]:
    """Medians over `runs` interleaved rounds of the four measurements."""
    figures: dict[str, list[float]] = {}

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    for _ in range(runs):
        rows = raw_rows(batches, BATCH)
        note("raw_batch", batches * BATCH / sum(raw_insert(log, rows)))
        if log.dialect_name == "postgresql":
            copied = raw_copy(log, raw_rows(batches, BATCH))
            note("raw_copy", batches * BATCH / sum(copied))
        note("sluice_batch", batches * BATCH / sum(sluice_batches(log, batches)))
        ones = raw_rows(singles, 1)
        raw_single = raw_insert(log, ones)
        note("raw_single", singles / sum(raw_single))
        note("raw_single_p50", pct(raw_single, 0.5) * 1000)
        single = sluice_singles(log, singles)
        note("sluice_single", singles / sum(single))
        note("sluice_single_p50", pct(single, 0.5) * 1000)
        note("sluice_single_p99", pct(single, 0.99) * 1000)
    return {name: statistics.median(values) for name, values in figures.items()}


def report(title: str, f: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"  raw multi-row INSERT, {BATCH}/tx      {f['raw_batch']:>10,.0f} events/s")
    if "raw_copy" in f:
        print(
            f"  raw COPY, {BATCH}/tx                  {f['raw_copy']:>10,.0f} events/s"
        )
    print(
        f"  sluice append_many, {BATCH}/tx       {f['sluice_batch']:>10,.0f} events/s"
        f"   {f['sluice_batch'] / f['raw_batch']:.0%} of raw INSERT"
        + (
            f", {f['sluice_batch'] / f['raw_copy']:.0%} of COPY"
            if "raw_copy" in f
            else ""
        )
    )
    print(
        f"  raw INSERT, 1/tx                 {f['raw_single']:>10,.0f} events/s"
        f"   p50 {f['raw_single_p50']:.2f} ms"
    )
    print(
        f"  sluice append, 1/tx              {f['sluice_single']:>10,.0f} events/s"
        f"   p50 {f['sluice_single_p50']:.2f} ms  p99 {f['sluice_single_p99']:.2f} ms"
        f"   {f['sluice_single'] / f['raw_single']:.0%} of raw"
    )


def with_schema(url: str) -> tuple[str, Callable[[], None]]:
    """A throwaway schema on `url`, and how to drop it."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    parsed = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False), drop


def bench(title: str, url: str, args: argparse.Namespace) -> None:
    log = open_event_log(url)
    try:
        measure(log, 1, 5, 50)  # warm-up: connections, statement caches
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(sluice_batches, log, args.batches)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        report(title, measure(log, args.runs, args.batches, args.singles))
    finally:
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--singles", type=int, default=400)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            bench(
                "SQLite (file, WAL, synchronous=NORMAL)", f"sqlite:///{tmp}/b.db", args
            )
    if args.pg and args.only != "sqlite":
        url, drop = with_schema(args.pg)
        try:
            bench("PostgreSQL", url, args)
        finally:
            drop()
    elif args.only != "sqlite":
        print("\nPostgreSQL skipped: no --pg URL and no TEST_DATABASE_URL")


if __name__ == "__main__":
    main()
