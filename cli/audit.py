"""The `sluice audit` command group (filled by the projections/admin work)."""

from __future__ import annotations

import click


@click.group("audit")
def audit() -> None:
    """audit commands."""
