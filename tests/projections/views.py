"""Reading every row of every view, to compare two computations of them."""

from __future__ import annotations

import sqlalchemy as sa

from sluice.projections.catalog import PROJECTIONS


def snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    """Every row of every view, by table, in primary-key order."""
    rows = {}
    with engine.connect() as conn:
        for projection in PROJECTIONS.values():
            for table in projection.tables:
                query = sa.select(table).order_by(*table.primary_key.columns)
                rows[table.name] = [tuple(r) for r in conn.execute(query)]
    return rows
