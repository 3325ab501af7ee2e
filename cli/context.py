"""What every command shares: where the data lives and how to open the log.

Data lives in `./.sluice/` by default (SQLite + local storage); `--db URL` or
`SLUICE_DATABASE_URL` points elsewhere (PostgreSQL).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import click


@dataclass
class CliContext:
    """Options of the root command, and the resources opened from them (lazily)."""

    data_dir: str
    db_url: str | None
    _log: Any = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        """The database URL: --db, SLUICE_DATABASE_URL, or SQLite under the data dir."""
        if self.db_url:
            return self.db_url
        os.makedirs(self.data_dir, exist_ok=True)
        return f"sqlite:///{os.path.abspath(os.path.join(self.data_dir, 'sluice.db'))}"

    def event_log(self) -> Any:
        """The event log (migrated on first open)."""
        if self._log is None:
            from sluice.eventstore import open_event_log

            self._log = open_event_log(self.database_url)
        return self._log

    def close(self) -> None:
        """Release what was opened."""
        if self._log is not None:
            self._log.close()
            self._log = None


pass_cli = click.make_pass_decorator(CliContext)
