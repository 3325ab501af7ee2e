"""Append rate of the event log against the raw limit of the same database and driver.

On SQLite (a temp file) and PostgreSQL (a throwaway schema), in one run, interleaved,
into the same `events` table (same indexes):

- raw: prepared rows (already chained and hashed), 100 per transaction, straight
  through the driver: a multi-row INSERT, and the driver's other fast way
  (SQLite: executemany of one prepared INSERT; PostgreSQL: COPY);
- sluice, batch: `append_many` of 100 events over 50 streams per transaction (encode,
  hash chain, stream heads, insert);
- raw, single: one prepared row per INSERT and transaction (p50 latency);
- sluice, single: `append` of one event per transaction (p50/p99 latency).

Prints medians over the runs, and each sluice figure as a fraction of the raw ones.

    python benchmarks/bench_append.py [--pg URL] [--runs 5] [--only sqlite|postgresql]
                                      [--profile]

PostgreSQL comes from --pg or TEST_DATABASE_URL; without either only SQLite runs.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from typing import Any

import sqlalchemy as sa

from sluice.core.events import NewEvent, TaskRunSucceeded
from sluice.core.ports import StreamAppend
from sluice.eventstore import SqlEventLog, open_event_log
from sluice.eventstore.chain import EVENT_COLUMNS, EventRow, plan_appends

BATCH = 100
STREAMS_PER_BATCH = 50
_ids = itertools.count(1)
# PostgreSQL: above every position sluice gives out, ascending like them (descending
# keys would all land on the table's first page). SQLite: None, the next rowid.
_raw_positions = itertools.count(1 << 62)
INSERT = f"INSERT INTO events ({', '.join(EVENT_COLUMNS)})"
RawWrite = Callable[[Any, list[EventRow]], None]


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


def raw_rows(batches: int, per_batch: int, pg: bool) -> list[list[EventRow]]:
    """Prepared rows (chained, hashed) for the raw inserts, in streams of their own."""
    out = []
    for _ in range(batches):
        appends = batch_appends()
        rows, _ = plan_appends(appends, {}, 0)
        out.append([
            row._replace(
                position=next(_raw_positions) if pg else None,
                stream=f"raw/{row.stream}",
                idempotency_key=f"raw:{row.idempotency_key}",
            )
            for row in rows[:per_batch]
        ])  # fmt: skip
    return out


def _timed_batches(
    log: SqlEventLog, batches: list[list[EventRow]], write: RawWrite
) -> list[float]:
    """Write each batch in its own transaction through the bare driver connection."""
    times = []
    raw = log.engine.raw_connection()
    try:
        driver = raw.driver_connection
        for rows in batches:
            start = time.perf_counter()
            with closing(driver.cursor()) as cursor:
                if log.dialect_name == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")
                write(cursor, rows)
            driver.commit()
            times.append(time.perf_counter() - start)
    finally:
        raw.close()
    return times


def _placeholders(pg: bool) -> str:
    mark = "%s" if pg else "?"
    return (
        "("
        + ", ".join(
            f"{mark}::json" if pg and c == "data" else mark for c in EVENT_COLUMNS
        )
        + ")"
    )


def multirow_insert(pg: bool) -> RawWrite:
    """One INSERT … VALUES (…), (…), … per batch."""
    one = _placeholders(pg)

    def write(cursor: Any, rows: list[EventRow]) -> None:
        values = ", ".join([one] * len(rows))
        cursor.execute(f"{INSERT} VALUES {values}", [v for row in rows for v in row])

    return write


def executemany(pg: bool) -> RawWrite:
    """The driver's executemany of a one-row INSERT (SQLite: one prepared statement)."""
    sql = f"{INSERT} VALUES {_placeholders(pg)}"
    return lambda cursor, rows: cursor.executemany(sql, rows)


def copy(pg: bool) -> RawWrite:
    """PostgreSQL's COPY FROM STDIN."""

    def write(cursor: Any, rows: list[EventRow]) -> None:
        with cursor.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as out:
            for row in rows:
                out.write_row(row)

    return write


RAW_WAYS: dict[str, dict[str, Callable[[bool], RawWrite]]] = {
    "sqlite": {"multi-row INSERT": multirow_insert, "executemany": executemany},
    "postgresql": {"multi-row INSERT": multirow_insert, "COPY": copy},
}


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
    """Medians over `runs` rounds of every measurement, in a new order each round.

    The order is shuffled because the cost of a WAL checkpoint (SQLite) or of a
    background flush lands on whichever writer comes next.
    """
    pg = log.dialect_name == "postgresql"
    figures: dict[str, list[float]] = {}

    def raw(name: str, way: RawWrite) -> Callable[[], None]:
        def run() -> None:
            times = _timed_batches(log, raw_rows(batches, BATCH, pg), way)
            figures.setdefault(f"raw {name}", []).append(batches * BATCH / sum(times))

        return run

    def latency(name: str, times: list[float]) -> None:
        figures.setdefault(name, []).append(len(times) / sum(times))
        figures.setdefault(f"{name} p50", []).append(pct(times, 0.5) * 1000)
        figures.setdefault(f"{name} p99", []).append(pct(times, 0.99) * 1000)

    steps = [raw(name, way(pg)) for name, way in RAW_WAYS[log.dialect_name].items()]
    steps += [
        lambda: figures.setdefault("sluice batch", []).append(
            batches * BATCH / sum(sluice_batches(log, batches))
        ),
        lambda: latency(
            "raw single",
            _timed_batches(log, raw_rows(singles, 1, pg), multirow_insert(pg)),
        ),
        lambda: latency("sluice single", sluice_singles(log, singles)),
    ]
    for _ in range(runs):
        for step in random.sample(steps, len(steps)):
            step()
    return {name: statistics.median(values) for name, values in figures.items()}


def report(title: str, f: dict[str, float]) -> None:
    print(f"\n{title}")
    raws = {
        k.removeprefix("raw "): v
        for k, v in sorted(f.items())
        if k.startswith("raw ") and "single" not in k
    }
    for name, rate in raws.items():
        print(f"  raw {name}, {BATCH}/tx".ljust(36) + f"{rate:>10,.0f} events/s")
    ratios = ", ".join(
        f"{f['sluice batch'] / rate:.0%} of {name}" for name, rate in raws.items()
    )
    print(
        f"  sluice append_many, {BATCH}/tx".ljust(36)
        + f"{f['sluice batch']:>10,.0f} events/s   {ratios}"
    )
    print(
        "  raw INSERT, 1/tx".ljust(36) + f"{f['raw single']:>10,.0f} events/s"
        f"   p50 {f['raw single p50']:.2f} ms"
    )
    print(
        "  sluice append, 1/tx".ljust(36) + f"{f['sluice single']:>10,.0f} events/s"
        f"   p50 {f['sluice single p50']:.2f} ms  p99 {f['sluice single p99']:.2f} ms"
        f"   {f['sluice single'] / f['raw single']:.0%} of raw"
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
