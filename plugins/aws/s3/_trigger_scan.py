"""One poll's walk through a bucket: which versions fire, which await an action.

Keys are examined in S3's key order, in a circle: from the cursor to the end of the
listing, then from the beginning back to the cursor. The walk stops when `maxFiles`
objects are chosen (the cursor is then the last chosen key), when `maxKeys` keys have
been listed (the cursor is the last key listed), or when the circle is closed (the
cursor goes back to the beginning). So every object is reached within
``ceil(objects / maxKeys)`` polls, however many sit before it: no starvation.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sluice.core.plugin import TriggerContext
from sluice.plugins.aws.s3._objects import list_pages
from sluice.plugins.aws.s3._trigger_state import FIRED, Cursor, short, version_of

if TYPE_CHECKING:
    from sluice.plugins.aws.s3.trigger import Trigger


@dataclass
class Candidate:
    """An object version chosen to fire."""

    item: dict[str, Any]
    object_id: str
    previous: str | None = None


@dataclass
class Scan:
    """The state of one poll's walk; `run` fills `chosen`, `pending` and the cursor."""

    trigger: Trigger
    ctx: TriggerContext
    cursor: Cursor
    chosen: list[Candidate] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)
    examined: list[tuple[str | None, str | None]] = field(default_factory=list)
    budget: int | None = None

    async def run(self) -> None:
        """Walk the circle and leave the next cursor in `self.cursor.after`."""
        beginning = self.trigger.marker
        start = self.cursor.after or beginning
        self.budget = self.trigger.max_keys
        stop, last, at_end = await self._walk(start, None)
        if not at_end or stop:
            self._advance(start, last)
            return
        self.examined.append((start, None))
        if start == beginning or self.budget == 0:
            self.cursor.after = None
            return
        stop, last, at_end = await self._walk(beginning, start)
        if stop or not at_end:
            self._advance(beginning, last)
            return
        self.examined.append((beginning, start))
        self.cursor.after = None

    def _advance(self, low: str | None, last: str | None) -> None:
        if last is None:
            return
        self.examined.append((low, last))
        self.cursor.after = last

    async def _walk(
        self, low: str | None, high: str | None
    ) -> tuple[bool, str | None, bool]:
        """List keys in (low, high]: (stopped at maxFiles, last key, end reached)."""
        last: str | None = None
        trigger = self.trigger
        first_page = max(2 * trigger.max_files, 50)
        pages = list_pages(
            trigger, trigger.bucket, trigger, low, self.budget, first_page
        )
        async with aclosing(pages):
            async for page in pages:
                if self.budget is not None:
                    self.budget -= page.listed
                beyond = high is not None and (page.last_key or "") > high
                items = [i for i in page.items if high is None or i["Key"] <= high]
                stopped_at = self._examine(items)
                if stopped_at is not None:
                    return True, stopped_at, False
                if beyond:
                    return False, high, True
                last = page.last_key or last
                if not page.more:
                    return False, last, True
        return False, last, False

    def _examine(self, items: list[dict[str, Any]]) -> str | None:
        """Decide each item; return the key where `maxFiles` was reached, if it was."""
        trigger = self.trigger
        ids = {item["Key"]: trigger.object_id(self.ctx, item) for item in items}
        fired = (
            self.ctx.already_fired(list(ids.values()))
            if trigger.fanout == "PER_OBJECT"
            else set()
        )
        for item in items:
            key = str(item["Key"])
            self.kept.add(key)
            self._decide(item, ids[key], ids[key] in fired)
            if len(self.chosen) >= trigger.max_files:
                return key
        return None

    def _decide(self, item: dict[str, Any], object_id: str, fired: bool) -> None:
        trigger, key = self.trigger, item["Key"]
        if not trigger.remembers_versions:
            if fired:
                self._pending(item)
            else:
                self.chosen.append(Candidate(item, object_id))
            return
        version = short(version_of(item, trigger.action != "NONE"))
        previous = self.cursor.seen.get(key)
        if fired or previous == version + FIRED:
            self.cursor.seen[key] = version + FIRED
            self._pending(item)
            return
        if trigger.on == "UPDATE":
            if previous is None:
                self.cursor.seen[key] = version  # the baseline an update differs from
                return
            if previous.rstrip(FIRED) == version:
                return
        elif trigger.on == "CREATE" and previous is not None:
            return
        self.cursor.seen[key] = version + FIRED
        self.chosen.append(Candidate(item, object_id, previous))

    def _pending(self, item: dict[str, Any]) -> None:
        # Fired before, but its MOVE/DELETE did not happen (after_fire failed or the
        # process stopped): act now, without firing again.
        if self.trigger.action != "NONE" and self.trigger.action_on == "TRIGGER":
            self.pending.append(item)

    def drop(self, candidate: Candidate, old_after: str | None) -> None:
        """Give up a chosen object this poll (it changed while we downloaded it)."""
        self.chosen.remove(candidate)
        key = candidate.item["Key"]
        if self.trigger.remembers_versions:
            if candidate.previous is None:
                self.cursor.seen.pop(key, None)
            else:
                self.cursor.seen[key] = candidate.previous
        # Not advancing keeps the object ahead of the cursor; the versions that did
        # fire are skipped next time, since they are recorded.
        self.cursor.after = old_after
