"""Every projection sluice keeps, by name."""

from __future__ import annotations

from sluice.projections import audit_log, executions, task_runs, triggers
from sluice.projections._schema import Projection
from sluice.projections.errors import UnknownProjectionError

PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        executions.PROJECTION,
        task_runs.PROJECTION,
        audit_log.PROJECTION,
        triggers.PROJECTION,
    )
}
"""The projections, by name, in the order they are reported."""


def projection(name: str) -> Projection:
    """The projection called `name`; `UnknownProjectionError` naming the known ones."""
    try:
        return PROJECTIONS[name]
    except KeyError as err:
        known = ", ".join(PROJECTIONS)
        raise UnknownProjectionError(
            f"no projection {name!r} (known: {known})"
        ) from err
