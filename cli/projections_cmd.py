"""The `sluice projections` command group (filled by the projections/admin work)."""

from __future__ import annotations

import click


@click.group("projections")
def projections() -> None:
    """Views built from the log: status and rebuild."""
