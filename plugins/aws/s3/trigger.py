"""`aws.s3.Trigger`: start executions for objects that appear (or change) in a bucket.

Exactly once, with a small memory. Each object version fires under an idempotency key
derived from (flow, trigger, bucket, key, ETag), which the engine records with the
execution it creates, in one transaction; a key already recorded never fires again, and
`ctx.already_fired` tells the poll which keys are. The engine records a poll's fires
*first* and its cursor *after*, and the cursor never passes an object that did not fire
in this poll or before, so:

* a crash after listing but before recording fires nothing twice and loses nothing: the
  next poll starts from the old cursor and meets the same objects, fired or not;
* a crash between the fires and the cursor re-lists objects that fired; they are
  recorded, so they are skipped (or only acted on, see below).

The cursor holds the last key examined, so successive polls go on through the bucket
(no starvation: 1,000 objects with `maxFiles` 25 fire in 40 polls), and, only for
`on: UPDATE` or `fanout: BATCH`, one 12-character digest per object present (entries
of objects that left the bucket are forgotten).

With `action` MOVE or DELETE, `actionOn: TRIGGER` acts in `after_fire` (once the fire
is recorded); an object that fired but is still there at the next poll (the action
failed or the process stopped) is acted on then, without firing again (an action that
fails again is logged and retried at the following poll; new objects still fire).
`actionOn: SUCCESS` acts in `after_execution` when the run ended SUCCESS or WARNING; a
failed run leaves the file. Actions apply only to the version that fired (ETag).
With MOVE or DELETE an object's LastModified is part of its identity too, so the same
file dropped again later (same content, same ETag) fires again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from sluice.core.errors import TaskError
from sluice.core.events import JsonValue
from sluice.core.plugin import Fire, PluginModel, PollResult, TriggerContext
from sluice.core.registry import register_trigger
from sluice.plugins.aws._connection import AwsPollingTrigger
from sluice.plugins.aws.s3._objects import KeySelection, file_name
from sluice.plugins.aws.s3._trigger_actions import act, act_on
from sluice.plugins.aws.s3._trigger_scan import Candidate, Scan
from sluice.plugins.aws.s3._trigger_state import Cursor, digest, version_of
from sluice.plugins.aws.s3.download import download_object

_DOWNLOADS_AT_ONCE = 8


class MoveTo(PluginModel):
    """Where MOVE puts objects: `key` is a prefix; the path below `prefix` is kept."""

    bucket: str | None = None
    key: str | None = None
    server_side_encryption: str | None = None
    kms_key_id: str | None = None


@register_trigger
class Trigger(AwsPollingTrigger, KeySelection):
    """Fire for each new or changed object under `prefix` that matches `regexp`.

    Fire variables (``{{ trigger.* }}``): `bucket`, `key`, `etag`, `size`,
    `lastModified`, `uri` (the copy in internal storage when `download` is true) and
    `objects` (the list of those, as in Kestra; BATCH fires only `bucket` and
    `objects`).

    Example:
        ```yaml
        id: ingest_orders
        namespace: company.team
        tasks:
          - id: load
            type: core.Log
            message: "{{ trigger.key }} is at {{ trigger.uri }}"
        triggers:
          - id: new_orders
            type: aws.s3.Trigger
            region: us-east-1
            interval: PT30S
            bucket: landing
            prefix: orders/
            regexp: "orders/.*\\\\.csv"
            action: MOVE
            actionOn: SUCCESS
            moveTo:
              key: processed/
        ```
    """

    type_name: ClassVar[str] = "aws.s3.Trigger"
    bucket: str
    fanout: Literal["PER_OBJECT", "BATCH"] = "PER_OBJECT"
    download: bool = True
    max_files: int = 25
    action: Literal["NONE", "MOVE", "DELETE"] = "NONE"
    action_on: Literal["TRIGGER", "SUCCESS"] = "TRIGGER"
    move_to: MoveTo | None = None
    on: Literal["CREATE", "UPDATE", "CREATE_OR_UPDATE"] = "CREATE_OR_UPDATE"

    @model_validator(mode="before")
    @classmethod
    def _yaml_on_key(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads the key `on:` as the boolean True.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _move_is_safe(self) -> Trigger:
        if self.max_files < 1:
            raise ValueError("maxFiles must be at least 1")
        if self.action != "MOVE":
            return self
        if self.move_to is None or not (self.move_to.bucket or self.move_to.key):
            raise ValueError("action MOVE needs moveTo with a bucket or a key prefix")
        same_bucket = self.move_to.bucket in {None, self.bucket}
        dest = (self.move_to.key or "").strip("/") + "/"
        if same_bucket and dest.startswith(self.prefix or "") and self.regexp is None:
            raise ValueError(
                "moveTo puts objects back under the watched prefix, so they would fire "
                "again: move them elsewhere or narrow the trigger with `regexp`"
            )
        return self

    @property
    def remembers_versions(self) -> bool:
        """Whether the cursor keeps a digest per object (UPDATE and BATCH need it)."""
        return self.on == "UPDATE" or self.fanout == "BATCH"

    def object_id(self, ctx: TriggerContext, item: dict[str, Any]) -> str:
        """The idempotency key of an object version (CREATE without action: the key)."""
        version = version_of(item, self.action != "NONE")
        if self.on == "CREATE" and self.action == "NONE":
            version = ""
        scope = f"{ctx.namespace}/{ctx.flow_id}/{ctx.trigger_id}"
        return "aws.s3.Trigger:" + digest(scope, self.bucket, item["Key"], version)

    async def poll(self, ctx: TriggerContext) -> PollResult:
        """List from the cursor, choose what fires, download it, act on leftovers."""
        cursor = Cursor.load(ctx.cursor)
        old_after = cursor.after
        scan = Scan(self, ctx, cursor)
        await scan.run()
        uris = await self._download(ctx, scan, old_after)
        cursor.prune(scan.examined, scan.kept)
        fires = self._fires(ctx, scan.chosen, uris)
        if (
            self.fanout == "BATCH"
            and fires
            and ctx.already_fired([fires[0].idempotency_key])
        ):
            # Recorded before the process stopped, but the cursor was not.
            scan.pending.extend(c.item for c in scan.chosen if self._acts_now)
            fires = []
        for item in scan.pending:
            try:
                await act(self, ctx, item["Key"], item.get("ETag"))
            except TaskError as err:
                # New objects must still fire: a failing action waits for next poll.
                ctx.logger.log(logging.WARNING, f"{err.message}; retried next poll")
        if fires:
            ctx.logger.log(logging.INFO, f"{len(scan.chosen)} objects fire")
        return PollResult(fires=fires, cursor=cursor.dump())

    @property
    def _acts_now(self) -> bool:
        return self.action != "NONE" and self.action_on == "TRIGGER"

    async def after_fire(
        self, ctx: TriggerContext, fire: Fire, execution_id: str
    ) -> None:
        """With `actionOn: TRIGGER`, MOVE or DELETE the objects that just fired."""
        if self._acts_now:
            await act_on(self, ctx, _objects(fire.variables))

    async def after_execution(
        self, ctx: TriggerContext, fire_variables: dict[str, JsonValue], state: str
    ) -> None:
        """With `actionOn: SUCCESS`, MOVE or DELETE the objects of a successful run."""
        if self.action == "NONE" or self.action_on != "SUCCESS":
            return
        if state in {"SUCCESS", "WARNING"}:
            await act_on(self, ctx, _objects(fire_variables))
        else:
            ctx.logger.log(
                logging.INFO, f"execution ended {state}: objects left in place"
            )

    async def _download(
        self, ctx: TriggerContext, scan: Scan, old_after: str | None
    ) -> dict[str, str]:
        """Copy chosen objects to internal storage; drop those changed meanwhile."""
        if not self.download or not scan.chosen:
            return {}
        gate = asyncio.Semaphore(_DOWNLOADS_AT_ONCE)
        ns = ctx.namespace.replace(".", "/")

        async def fetch(candidate: Candidate) -> tuple[Candidate, str | None]:
            key = candidate.item["Key"]
            path = (
                f"{ns}/{ctx.flow_id}/triggers/{ctx.trigger_id}/"
                f"{candidate.object_id[-16:]}/{file_name(key)}"
            )
            get = {"Bucket": self.bucket, "Key": key}
            if candidate.item.get("ETag"):
                get["IfMatch"] = candidate.item["ETag"]
            async with gate:
                try:
                    done = await download_object(self, ctx.storage, path, get)
                except TaskError as err:
                    if err.error_type in {"PreconditionFailed", "NoSuchKey", "412"}:
                        return candidate, None
                    raise
            return candidate, done.uri

        results = await asyncio.gather(*(fetch(c) for c in list(scan.chosen)))
        uris: dict[str, str] = {}
        for candidate, uri in results:
            if uri is None:
                scan.drop(candidate, old_after)
            else:
                uris[candidate.object_id] = uri
        return uris

    def _fires(
        self, ctx: TriggerContext, chosen: list[Candidate], uris: dict[str, str]
    ) -> list[Fire]:
        items = [_variables(self.bucket, c.item, uris.get(c.object_id)) for c in chosen]
        if self.fanout == "PER_OBJECT":
            return [
                Fire(idempotency_key=c.object_id, variables={**item, "objects": [item]})
                for c, item in zip(chosen, items, strict=True)
            ]
        if not chosen:
            return []
        key = "aws.s3.Trigger:batch:" + digest(*sorted(c.object_id for c in chosen))
        return [
            Fire(
                idempotency_key=key, variables={"bucket": self.bucket, "objects": items}
            )
        ]


def _variables(
    bucket: str, item: dict[str, Any], uri: str | None
) -> dict[str, JsonValue]:
    modified = item.get("LastModified")
    return {
        "bucket": bucket,
        "key": item["Key"],
        "etag": item.get("ETag"),
        "size": int(item.get("Size", 0)),
        "lastModified": modified.isoformat() if modified is not None else None,
        "uri": uri,
    }


def _objects(variables: dict[str, JsonValue]) -> list[Any]:
    objects = variables.get("objects")
    return objects if isinstance(objects, list) else []
