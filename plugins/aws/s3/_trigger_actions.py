"""What the S3 trigger does to an object once it fired: nothing, MOVE or DELETE.

Every action is conditional on the ETag that fired (CopySourceIfMatch, If-Match on
DeleteObject): an object overwritten since is a new version, which must fire, so it is
left in place. An object already gone counts as done, so repeating an action (after a
crash, or by the next poll) is harmless.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sluice.core.errors import TaskError
from sluice.core.plugin import TriggerContext
from sluice.plugins.aws.s3.copy import CopySource, copy_object

if TYPE_CHECKING:
    from sluice.plugins.aws.s3.trigger import Trigger

_CHANGED = {"PreconditionFailed", "412"}
_GONE = {"NoSuchKey", "404", "NotFound"}


def destination(trigger: Trigger, key: str) -> tuple[str, str]:
    """Where MOVE puts `key`: `moveTo.key` + the key's path below `prefix`."""
    assert trigger.move_to is not None
    relative = key
    if trigger.prefix and key.startswith(trigger.prefix):
        relative = key[len(trigger.prefix) :]
    relative = relative.lstrip("/")
    base = (trigger.move_to.key or "").strip("/")
    new_key = f"{base}/{relative}" if base else relative
    return trigger.move_to.bucket or trigger.bucket, new_key


async def act_on(trigger: Trigger, ctx: TriggerContext, objects: list[Any]) -> None:
    """Apply the trigger's action to each fired object (dicts with bucket/key/etag)."""
    for obj in objects:
        if isinstance(obj, dict) and obj.get("key"):
            await act(trigger, ctx, str(obj["key"]), obj.get("etag"))


async def act(trigger: Trigger, ctx: TriggerContext, key: str, etag: str | None) -> str:
    """MOVE or DELETE one object if it still has `etag`; say what happened."""
    source = f"s3://{trigger.bucket}/{key}"
    try:
        if trigger.action == "DELETE":
            await _delete(trigger, key, etag)
            outcome = f"deleted {source}"
        elif trigger.action == "MOVE":
            bucket, new_key = destination(trigger, key)
            extra: dict[str, Any] = {"CopySourceIfMatch": etag} if etag else {}
            if trigger.move_to and trigger.move_to.server_side_encryption:
                extra["ServerSideEncryption"] = trigger.move_to.server_side_encryption
            if trigger.move_to and trigger.move_to.kms_key_id:
                extra["SSEKMSKeyId"] = trigger.move_to.kms_key_id
            source_ref = CopySource(bucket=trigger.bucket, key=key)
            await copy_object(trigger, source_ref, bucket, new_key, extra)
            await _delete(trigger, key, etag)
            outcome = f"moved {source} to s3://{bucket}/{new_key}"
        else:
            return "none"
    except TaskError as err:
        if err.error_type in _CHANGED:
            outcome = f"left {source}: it changed since it fired"
            ctx.logger.log(logging.WARNING, outcome)
            return outcome
        if err.error_type in _GONE:
            outcome = f"{source} is gone already"
            ctx.logger.log(logging.INFO, outcome)
            return outcome
        raise
    ctx.logger.log(logging.INFO, outcome)
    return outcome


async def _delete(trigger: Trigger, key: str, etag: str | None) -> None:
    s3 = trigger.client("s3")
    kwargs: dict[str, Any] = {"Bucket": trigger.bucket, "Key": key}
    if etag:
        kwargs["IfMatch"] = etag
    await trigger.call(
        f"s3:DeleteObject s3://{trigger.bucket}/{key}", s3.delete_object, **kwargs
    )
