"""Event ↔ row: msgspec JSON for `data`, upcasters for older rows, the chain hash.

A row stores the event as the msgspec JSON of its tagged struct, with the class's
`schema_version` beside it. Stored rows are never rewritten: when an event class
changes shape, its `schema_version` goes up and an upcaster lifts older rows on read::

    def _split_name(data: dict[str, JsonValue]) -> dict[str, JsonValue]:
        first, _, last = data.pop("name").partition(" ")
        return {**data, "first_name": first, "last_name": last}

    register_upcaster("PersonRegistered", 1, _split_name)  # version 1 -> 2

A version step without an upcaster is taken as compatible (an optional field added).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import msgspec

from sluice.core.errors import EventDecodeError
from sluice.core.events import EVENT_TYPES, BaseEvent, Event, JsonValue, RecordedEvent

Upcaster = Callable[[dict[str, JsonValue]], dict[str, JsonValue]]
"""Lifts an event's data (a JSON object) from one schema version to the next."""

_encoder = msgspec.json.Encoder()
_decoders: dict[type[BaseEvent], msgspec.json.Decoder[Any]] = {}


class UpcasterRegistry:
    """Upcasters by (type name, version they lift from); safe to use from threads."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}
        self._lock = threading.Lock()

    def register(self, type_name: str, from_version: int, fn: Upcaster) -> None:
        """Use `fn` to lift `type_name` rows from `from_version` to the next."""
        with self._lock:
            self._steps[(type_name, from_version)] = fn

    def remove(self, type_name: str, from_version: int) -> None:
        """Forget the upcaster of one step (tests, plugins unloading)."""
        with self._lock:
            self._steps.pop((type_name, from_version), None)

    def lift(
        self, type_name: str, version: int, target: int, data: dict[str, JsonValue]
    ) -> dict[str, JsonValue]:
        """Apply the upcasters from `version` up to `target`, one step at a time."""
        for step in range(version, target):
            fn = self._steps.get((type_name, step))
            if fn is not None:
                data = fn(data)
        return data


upcasters = UpcasterRegistry()
"""The registry every event log reads through."""


def register_upcaster(type_name: str, from_version: int, fn: Upcaster) -> None:
    """Register `fn` to lift stored `type_name` events from `from_version` by one."""
    upcasters.register(type_name, from_version, fn)


def encode_event(event: BaseEvent) -> tuple[str, int, str]:
    """The stored `type`, `schema_version` and `data` (JSON text) of an event."""
    cls = type(event)
    return cls.__name__, cls.schema_version, _encoder.encode(event).decode()


def _decoder(cls: type[BaseEvent]) -> msgspec.json.Decoder[Any]:
    decoder = _decoders.get(cls)
    if decoder is None:
        decoder = _decoders[cls] = msgspec.json.Decoder(cls)
    return decoder


def decode_event(
    type_name: str,
    schema_version: int,
    data: str | bytes,
    *,
    position: int,
    stream: str,
) -> Event:
    """The event a row holds, lifted to the current schema version.

    Raises:
        EventDecodeError: unknown type, a schema version newer than this code, or data
            that does not decode; the message names the position, stream and type.
    """
    where = f"event at position {position} in stream {stream!r} (type {type_name!r}"
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise EventDecodeError(
            f"{where}) has a type this version of sluice does not know"
        )
    current = cls.schema_version
    if schema_version > current:
        raise EventDecodeError(
            f"{where}) has schema_version {schema_version}, newer than this code's "
            f"{current}: upgrade sluice to read it"
        )
    try:
        if schema_version == current:
            return _decoder(cls).decode(data)  # type: ignore[no-any-return]
        raw = msgspec.json.decode(data)
        if not isinstance(raw, dict):
            raise msgspec.ValidationError("Expected `object`")
        lifted = upcasters.lift(type_name, schema_version, current, raw)
        return msgspec.convert({**lifted, "type": type_name}, cls)  # type: ignore[return-value]
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        raise EventDecodeError(
            f"{where}, schema_version {schema_version}) does not decode: {err}"
        ) from err


def chain_hash(
    prev_hash: str | None,
    stream: str,
    version: int,
    type_name: str,
    schema_version: int,
    data: str,
    actor: str,
    causation_id: str | None,
    correlation_id: str | None,
    idempotency_key: str | None,
) -> str:
    """The sha256 (hex) linking an event to its stream's previous one.

    The fields are hashed as one JSON array, which no two different rows share; the
    database clock (`recorded_at`) is not part of it, as it is known only on insert.
    """
    payload = _encoder.encode(
        [prev_hash, stream, version, type_name, schema_version, data, actor,
         causation_id, correlation_id, idempotency_key]
    )  # fmt: skip
    return hashlib.sha256(payload).hexdigest()


class StoredRow(Protocol):
    """An `events` row read back (a SQLAlchemy `Row`, or the in-memory log's)."""

    @property
    def position(self) -> int: ...
    @property
    def stream(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def data(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def causation_id(self) -> str | None: ...
    @property
    def correlation_id(self) -> str | None: ...
    @property
    def idempotency_key(self) -> str | None: ...
    @property
    def prev_hash(self) -> str | None: ...
    @property
    def hash(self) -> str: ...


def row_hash(row: StoredRow) -> str:
    """`chain_hash` of a stored row."""
    return chain_hash(
        row.prev_hash, row.stream, row.version, row.type, row.schema_version,
        row.data, row.actor, row.causation_id, row.correlation_id,
        row.idempotency_key,
    )  # fmt: skip


def recorded_event(row: Sequence[Any], recorded_at: datetime) -> RecordedEvent:
    """The `RecordedEvent` of a stored row (decoded, lifted to the current version).

    Args:
        row: the `events` columns in `EventRow` order (position … hash); taken by
            position, which is several times faster than by name on a long read.
        recorded_at: when the database recorded it.
    """
    (position, stream, version, type_name, schema_version, data, actor, causation_id,
     correlation_id, idempotency_key, prev_hash, digest) = row[:12]  # fmt: skip
    event = decode_event(
        type_name, schema_version, data, position=position, stream=stream
    )
    return RecordedEvent(
        position=position, stream=stream, version=version, event=event, actor=actor,
        recorded_at=recorded_at, schema_version=schema_version,
        causation_id=causation_id, correlation_id=correlation_id,
        idempotency_key=idempotency_key, prev_hash=prev_hash, hash=digest,
    )  # fmt: skip
