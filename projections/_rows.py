"""The rows a batch of events touches: read once, changed in memory, written once.

A statement per event costs a round trip and an SQL expression build each (a few
hundred microseconds); a batch of a thousand events instead costs one SELECT and at
most three executemany statements per table, which is what lets a projection keep up
with the engine and rebuild a million events in minutes.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Jsonb

COPY_FROM_ROWS = 8
"""From this many new rows on, PostgreSQL inserts them with COPY."""

Row = dict[str, Any]
Key = tuple[Hashable, ...]


class Rows:
    """A table's rows touched by one batch, keyed by primary key.

    `load` reads the stored rows a batch needs; `get`, `add` and `delete` change them in
    memory; `flush` writes the difference (deletes, inserts, updates) in the caller's
    transaction.
    """

    def __init__(self, conn: sa.Connection, table: sa.Table) -> None:
        self._conn = conn
        self._table = table
        self._key = tuple(c.name for c in table.primary_key.columns)
        self._rows: dict[Key, Row] = {}
        self._stored: dict[Key, Row] = {}

    def key(self, row: Row) -> Key:
        """The primary key of a row."""
        return tuple(row[name] for name in self._key)

    def load(self, where: sa.ColumnElement[bool]) -> None:
        """Read the stored rows matching `where` (rows held already stay as held)."""
        for stored in self._conn.execute(sa.select(self._table).where(where)):
            row = dict(stored._mapping)
            key = self.key(row)
            if key not in self._rows and key not in self._stored:
                self._rows[key], self._stored[key] = row, dict(row)

    def get(self, *key: Hashable) -> Row | None:
        """The row with this primary key, to read or change in place; None if absent."""
        return self._rows.get(key)

    def values(self) -> list[Row]:
        """Every row held."""
        return list(self._rows.values())

    def add(self, row: Row) -> Row:
        """Add (or replace) a row; columns not given are NULL."""
        full = {c.name: None for c in self._table.c} | row
        self._rows[self.key(full)] = full
        return full

    def delete(self, *key: Hashable) -> None:
        """Remove the row with this primary key, if held."""
        self._rows.pop(key, None)

    def flush(self) -> None:
        """Write what changed since `load`: deletes, then inserts, then updates."""
        t, conn = self._table, self._conn
        match = sa.and_(
            *(t.c[name] == sa.bindparam(f"_key_{name}") for name in self._key)
        )
        deletes = [k for k in self._stored if k not in self._rows]
        if deletes:
            conn.execute(
                t.delete().where(match), [self._key_params(k) for k in deletes]
            )
        inserts = [row for k, row in self._rows.items() if k not in self._stored]
        if len(inserts) >= COPY_FROM_ROWS and conn.dialect.name == "postgresql":
            self._copy(inserts)
        elif inserts:
            conn.execute(t.insert(), inserts)
        updates = [
            {**row, **self._key_params(k)}
            for k, row in self._rows.items()
            if k in self._stored and row != self._stored[k]
        ]
        if updates:
            conn.execute(t.update().where(match), updates)
        self._stored = {k: dict(row) for k, row in self._rows.items()}

    def _copy(self, rows: list[Row]) -> None:
        """Insert with COPY (a many-row INSERT costs psycopg a parse of its text)."""
        quote = self._conn.dialect.identifier_preparer.quote
        names = [c.name for c in self._table.c]
        # JSON columns as SQLAlchemy writes them: None is JSON null, not SQL NULL.
        json = {c.name for c in self._table.c if isinstance(c.type, sa.JSON)}
        columns = ", ".join(map(quote, names))
        sql = f"COPY {quote(self._table.name)} ({columns}) FROM STDIN"
        raw = self._conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([Jsonb(row[n]) if n in json else row[n] for n in names])

    def _key_params(self, key: Key) -> Row:
        return {
            f"_key_{name}": value for name, value in zip(self._key, key, strict=True)
        }
