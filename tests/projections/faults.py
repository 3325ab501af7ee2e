"""A crash at the worst moment: after a view write, before the commit."""

from __future__ import annotations

from collections.abc import Callable, Collection

import sqlalchemy as sa


class CrashError(RuntimeError):
    """The simulated power cut."""


def crash_after_writes(
    engine: sa.Engine, tables: Collection[str], times: int = 1
) -> Callable[[], None]:
    """Raise right after the `times`-th write to one of `tables`; returns the undo."""
    left = {"n": times}

    def after_execute(
        conn, clauseelement, multiparams, params, execution_options, result
    ):
        table = getattr(clauseelement, "table", None)
        if (
            getattr(clauseelement, "is_dml", False)
            and getattr(table, "name", None) in tables
        ):
            left["n"] -= 1
            if left["n"] == 0:
                raise CrashError("power cut between the view write and the commit")

    sa.event.listen(engine, "after_execute", after_execute)
    return lambda: sa.event.remove(engine, "after_execute", after_execute)
