"""A small SQL event log standing in for sluice.eventstore until it lands.

It implements the parts of core.ports.EventLog the projections use (append, append_many,
read_stream, read_all, head_position, verify) on SQLAlchemy Core, with `.engine` and
`.dialect_name`, in the same database as the views.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa

from sluice.core.errors import ConcurrencyConflictError
from sluice.core.events import Event, NewEvent, RecordedEvent, event_type
from sluice.core.ports import ANY_VERSION, AppendResult, StreamAppend, VerifyReport

_md = sa.MetaData()
_events = sa.Table(
    "events",
    _md,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("stream", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("stream", "version"),
)
_decoder = msgspec.json.Decoder(Event)


class StandInEventLog:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.dialect_name = self.engine.dialect.name
        _md.create_all(self.engine)

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: int
    ) -> AppendResult:
        return self.append_many(
            [
                StreamAppend(
                    stream=stream, events=events, expected_version=expected_version
                )
            ]
        )[0]

    def append_many(
        self, appends: Sequence[StreamAppend], work=(), completed=()
    ) -> list[AppendResult]:
        results = []
        with self.engine.begin() as conn:
            for item in appends:
                last = conn.execute(
                    sa.select(_events.c.version, _events.c.hash)
                    .where(_events.c.stream == item.stream)
                    .order_by(_events.c.version.desc())
                    .limit(1)
                ).first()
                version, prev = (last[0], last[1]) if last else (0, None)
                if (
                    item.expected_version != ANY_VERSION
                    and item.expected_version != version
                ):
                    raise ConcurrencyConflictError(item.stream)
                rows = []
                for new in item.events:
                    version += 1
                    data = msgspec.json.encode(new.event).decode()
                    digest = hashlib.sha256(f"{prev}|{data}".encode()).hexdigest()
                    rows.append(
                        {
                            "stream": item.stream,
                            "version": version,
                            "type": event_type(new.event),
                            "data": data,
                            "actor": new.actor,
                            "recorded_at": datetime.now(UTC).isoformat(),
                            "prev_hash": prev,
                            "hash": digest,
                        }
                    )
                    prev = digest
                positions = [
                    conn.execute(
                        _events.insert().values(r).returning(_events.c.position)
                    ).scalar_one()
                    for r in rows
                ]
                results.append(
                    AppendResult(
                        stream=item.stream, version=version, positions=positions
                    )
                )
        return results

    def _decode(self, row: sa.Row) -> RecordedEvent:
        return RecordedEvent(
            position=row.position,
            stream=row.stream,
            version=row.version,
            event=_decoder.decode(row.data),
            actor=row.actor,
            recorded_at=datetime.fromisoformat(row.recorded_at),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )

    def read_stream(self, stream: str, from_version: int = 1) -> list[RecordedEvent]:
        query = (
            sa.select(_events)
            .where(_events.c.stream == stream, _events.c.version >= from_version)
            .order_by(_events.c.version)
        )
        with self.engine.connect() as conn:
            return [self._decode(r) for r in conn.execute(query)]

    def read_all(
        self, after_position: int = 0, limit: int = 1000
    ) -> list[RecordedEvent]:
        query = (
            sa.select(_events)
            .where(_events.c.position > after_position)
            .order_by(_events.c.position)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [self._decode(r) for r in conn.execute(query)]

    def head_position(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(_events.c.position), 0))
                ).scalar_one()
            )

    def stream_version(self, stream: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(
                        sa.func.coalesce(sa.func.max(_events.c.version), 0)
                    ).where(_events.c.stream == stream)
                ).scalar_one()
            )

    def verify(self) -> VerifyReport:
        checked = 0
        prev: dict[str, str | None] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(sa.select(_events).order_by(_events.c.position)):
                checked += 1
                expected = hashlib.sha256(
                    f"{prev.get(row.stream)}|{row.data}".encode()
                ).hexdigest()
                if expected != row.hash:
                    return VerifyReport(
                        ok=False,
                        checked=checked,
                        first_bad_position=row.position,
                        first_bad_stream=row.stream,
                        first_bad_version=row.version,
                        reason="hash mismatch",
                    )
                prev[row.stream] = row.hash
        return VerifyReport(ok=True, checked=checked)

    def close(self) -> None:
        self.engine.dispose()
