"""Running admin commands on a real database, as a user would (used by tests/cli)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from click.testing import CliRunner, Result

from sluice.cli.main import cli
from sluice.eventstore import open_event_log


def sluice(db_url: str, *args: str) -> Result:
    """Run `sluice --db <db_url> <args>` and return the result."""
    return CliRunner().invoke(cli, ["--db", db_url, *args])


def json_lines(result: Result) -> list[dict]:
    """The JSON objects of a command's output, one a line."""
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@contextmanager
def event_log(db_url: str) -> Iterator[object]:
    """The event log on `db_url`, closed afterwards."""
    log = open_event_log(db_url)
    try:
        yield log
    finally:
        log.close()
