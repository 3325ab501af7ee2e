"""The `sluice executions` command group (filled by the projections/admin work)."""

from __future__ import annotations

import click


@click.group("executions")
def executions() -> None:
    """executions commands."""
