"""What the S3 trigger remembers between polls, and how it names object versions.

The cursor is small: the last key examined (`after`), so that the next poll goes on from
there, and, only when the mode needs it, `seen`: one short digest per object *present*
in the bucket (entries of objects that left are dropped as the scan passes over them).

* PER_OBJECT with `on` CREATE or CREATE_OR_UPDATE keeps no `seen` map: whether a
  version fired is asked of the engine (`ctx.already_fired`) by its idempotency key.
* `on: UPDATE` needs to know the version an object had when first seen without firing
  it, and BATCH fires one key per poll (not per object): both keep `seen`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sluice.core.events import JsonValue

FIRED = "*"
"""Suffix of a `seen` digest whose version has fired (as opposed to a baseline)."""


@dataclass
class Cursor:
    """The trigger's memory: where to go on from, and (maybe) versions seen."""

    after: str | None = None
    seen: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, value: JsonValue) -> Cursor:
        """Read the cursor the engine hands back (None, unknown shapes: start over)."""
        if not isinstance(value, dict):
            return cls()
        after = value.get("after")
        seen = value.get("seen")
        return cls(
            after=after if isinstance(after, str) else None,
            seen={str(k): str(v) for k, v in seen.items()}
            if isinstance(seen, dict)
            else {},
        )

    def dump(self) -> JsonValue:
        """The JSON the engine stores (after the fires of the same poll)."""
        state: dict[str, JsonValue] = {"after": self.after}
        if self.seen:
            state["seen"] = dict(sorted(self.seen.items()))
        return state

    def prune(
        self, examined: list[tuple[str | None, str | None]], kept: set[str]
    ) -> None:
        """Forget objects that left: keys in an examined range that were not listed.

        `examined` holds key ranges (low exclusive, high inclusive; None is unbounded).
        """
        for key in list(self.seen):
            inside = any(
                (low is None or key > low) and (high is None or key <= high)
                for low, high in examined
            )
            if inside and key not in kept:
                del self.seen[key]


def digest(*parts: str) -> str:
    """A stable hex digest of some strings."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def version_of(item: dict[str, Any], with_time: bool) -> str:
    """An object version's identity: its ETag, plus LastModified when asked.

    With MOVE or DELETE, an object that comes back with the same content (the daily
    file of a drop zone) is a new arrival: LastModified tells it apart.
    """
    etag = str(item.get("ETag") or "")
    modified = item.get("LastModified")
    if with_time and isinstance(modified, datetime):
        return f"{etag}@{modified.isoformat()}"
    return etag


def short(version: str) -> str:
    """The digest of a version kept in `seen` (12 hex characters are plenty)."""
    return digest(version)[:12]
