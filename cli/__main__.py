"""`python -m sluice.cli` runs the `sluice` command."""

from sluice.cli.main import main

main()
