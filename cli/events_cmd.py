"""The `sluice events` command group (filled by the projections/admin work)."""

from __future__ import annotations

import click


@click.group("events")
def events() -> None:
    """The raw event log."""
