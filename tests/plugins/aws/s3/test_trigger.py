import json

import pytest
import yaml
from pydantic import ValidationError

from sluice.core.errors import TaskError
from sluice.plugins.aws.s3.trigger import Trigger
from tests.plugin_context import EngineRecorder
from tests.plugins.aws.s3.conftest import (
    all_keys,
    backdate,
    put_objects,
    seed_objects,
)


def make_trigger(conn, bucket, **props) -> Trigger:
    return Trigger.model_validate({**conn, "bucket": bucket, **props})


@pytest.fixture
def engine(tmp_path):
    return EngineRecorder(tmp_path)


async def poll(engine, trigger, after_fire=True):
    """One poll as the engine does it: record the fires, then the cursor, then act."""
    ctx = engine.context()
    result = await trigger.poll(ctx)
    new = engine.record(result)
    if after_fire:
        for fire in new:
            await trigger.after_fire(ctx, fire, f"exec-{engine.executions}")
    return new


async def test_trigger_fires_once_per_object_with_downloaded_copy(
    s3, conn, bucket, engine
):
    put_objects(s3, bucket, ["in/a.csv", "in/b.csv"], b"1,2\n")
    trigger = make_trigger(conn, bucket)

    fires = await poll(engine, trigger)

    assert [f.variables["key"] for f in fires] == ["in/a.csv", "in/b.csv"]
    first = fires[0].variables
    head = s3.head_object(Bucket=bucket, Key="in/a.csv")
    assert first["bucket"] == bucket
    assert first["etag"] == head["ETag"]
    assert first["size"] == 4
    assert first["lastModified"].startswith(str(head["LastModified"].year))
    assert engine.context().storage.get_bytes(first["uri"]) == b"1,2\n"
    assert first["objects"] == [{k: v for k, v in first.items() if k != "objects"}]
    assert await poll(engine, trigger) == []


async def test_trigger_keeps_prefix_and_full_key_regexp(s3, conn, bucket, engine):
    put_objects(s3, bucket, ["in/a.csv", "in/a.csv.tmp", "in/b.json", "out/c.csv"])
    trigger = make_trigger(conn, bucket, prefix="in/", regexp=r"in/.*\.csv")

    fires = await poll(engine, trigger)

    assert [f.variables["key"] for f in fires] == ["in/a.csv"]


async def test_trigger_without_download_fires_without_uri(s3, conn, bucket, engine):
    put_objects(s3, bucket, ["a"])
    trigger = make_trigger(conn, bucket, download=False)

    fires = await poll(engine, trigger)

    assert fires[0].variables["uri"] is None
    assert engine.context().storage.list() == []


async def test_trigger_batch_fires_one_execution_per_poll(s3, conn, bucket, engine):
    put_objects(s3, bucket, ["a", "b", "c"])
    trigger = make_trigger(conn, bucket, fanout="BATCH")

    first = await poll(engine, trigger)
    assert await poll(engine, trigger) == []
    put_objects(s3, bucket, ["d"])
    second = await poll(engine, trigger)

    assert len(first) == 1
    assert [o["key"] for o in first[0].variables["objects"]] == ["a", "b", "c"]
    assert [o["key"] for o in second[0].variables["objects"]] == ["d"]


async def test_trigger_batch_caps_objects_at_max_files(s3, conn, bucket, engine):
    put_objects(s3, bucket, ["a", "b", "c"])
    trigger = make_trigger(conn, bucket, fanout="BATCH", maxFiles=2, download=False)

    first = await poll(engine, trigger)
    second = await poll(engine, trigger)

    assert [o["key"] for o in first[0].variables["objects"]] == ["a", "b"]
    assert [o["key"] for o in second[0].variables["objects"]] == ["c"]


@pytest.mark.parametrize("fanout", ["PER_OBJECT", "BATCH"])
async def test_trigger_delete_on_trigger_removes_fired_objects(
    s3, conn, bucket, engine, fanout
):
    put_objects(s3, bucket, ["in/a", "in/b", "keep"])
    trigger = make_trigger(conn, bucket, prefix="in/", action="DELETE", fanout=fanout)

    await poll(engine, trigger)

    assert all_keys(s3, bucket) == ["keep"]


async def test_trigger_move_on_trigger_keeps_path_below_prefix(
    s3, conn, bucket, engine
):
    put_objects(s3, bucket, ["in/2025/a.csv", "in/b.csv"], b"data")
    trigger = make_trigger(
        conn, bucket, prefix="in/", action="MOVE", moveTo={"key": "done/"}
    )

    fires = await poll(engine, trigger)

    assert len(fires) == 2
    assert all_keys(s3, bucket) == ["done/2025/a.csv", "done/b.csv"]
    assert s3.get_object(Bucket=bucket, Key="done/b.csv")["Body"].read() == b"data"
    assert engine.context().storage.get_bytes(fires[1].variables["uri"]) == b"data"


async def test_trigger_move_to_other_bucket(s3, conn, bucket, engine):
    s3.create_bucket(Bucket=f"{bucket}-archive")
    put_objects(s3, bucket, ["x.csv"])
    trigger = make_trigger(
        conn, bucket, action="MOVE", moveTo={"bucket": f"{bucket}-archive"}
    )

    await poll(engine, trigger)

    assert all_keys(s3, bucket) == []
    assert all_keys(s3, f"{bucket}-archive") == ["x.csv"]


@pytest.mark.parametrize(
    ("action", "state", "expected"),
    [
        ("DELETE", "SUCCESS", []),
        ("DELETE", "WARNING", []),
        ("DELETE", "FAILED", ["in/a"]),
        ("MOVE", "SUCCESS", ["done/a"]),
        ("MOVE", "KILLED", ["in/a"]),
    ],
)
async def test_trigger_action_on_success_waits_for_the_execution(
    s3, conn, bucket, engine, action, state, expected
):
    put_objects(s3, bucket, ["in/a"])
    trigger = make_trigger(
        conn,
        bucket,
        prefix="in/",
        action=action,
        actionOn="SUCCESS",
        moveTo={"key": "done"},
    )

    fires = await poll(engine, trigger)
    assert all_keys(s3, bucket) == ["in/a"]  # nothing happens when it fires
    await trigger.after_execution(engine.context(), fires[0].variables, state)

    assert all_keys(s3, bucket) == expected
    assert await poll(engine, trigger) == []  # a failed run's file does not fire again


async def test_trigger_acts_at_next_poll_when_action_did_not_happen(
    s3, conn, bucket, engine
):
    put_objects(s3, bucket, ["a", "b"])
    trigger = make_trigger(conn, bucket, action="DELETE")

    first = await poll(engine, trigger, after_fire=False)  # stopped before acting
    assert all_keys(s3, bucket) == ["a", "b"]
    second = await poll(engine, trigger)

    assert len(first) == 2
    assert second == []
    assert all_keys(s3, bucket) == []


async def test_trigger_action_leaves_object_changed_since_it_fired(
    s3, conn, bucket, engine
):
    put_objects(s3, bucket, ["a"], b"v1")
    trigger = make_trigger(conn, bucket, action="DELETE", actionOn="SUCCESS")
    fires = await poll(engine, trigger)
    put_objects(s3, bucket, ["a"], b"v2")

    await trigger.after_execution(engine.context(), fires[0].variables, "SUCCESS")
    again = await poll(engine, trigger)

    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"v2"
    assert [f.variables["key"] for f in again] == ["a"]


async def test_trigger_fires_again_for_same_file_dropped_again_after_delete(
    s3, conn, bucket, engine
):
    trigger = make_trigger(conn, bucket, action="DELETE")
    put_objects(s3, bucket, ["daily.csv"], b"same")
    backdate(bucket, "daily.csv", 60)  # yesterday's drop
    first = await poll(engine, trigger)
    put_objects(s3, bucket, ["daily.csv"], b"same")

    second = await poll(engine, trigger)

    assert len(first) == len(second) == 1
    assert first[0].idempotency_key != second[0].idempotency_key


async def test_trigger_create_or_update_fires_for_new_version(s3, conn, bucket, engine):
    put_objects(s3, bucket, ["a"], b"v1")
    trigger = make_trigger(conn, bucket)
    await poll(engine, trigger)
    put_objects(s3, bucket, ["a"], b"v2")

    fires = await poll(engine, trigger)

    assert [f.variables["key"] for f in fires] == ["a"]
    assert engine.context().storage.get_bytes(fires[0].variables["uri"]) == b"v2"


async def test_trigger_on_create_ignores_new_versions(s3, conn, bucket, engine):
    put_objects(s3, bucket, ["a"], b"v1")
    trigger = make_trigger(conn, bucket, on="CREATE")
    await poll(engine, trigger)
    put_objects(s3, bucket, ["a"], b"v2")
    put_objects(s3, bucket, ["b"], b"v1")

    fires = await poll(engine, trigger)

    assert [f.variables["key"] for f in fires] == ["b"]


@pytest.mark.parametrize("fanout", ["PER_OBJECT", "BATCH"])
async def test_trigger_on_update_fires_only_for_changed_objects(
    s3, conn, bucket, engine, fanout
):
    put_objects(s3, bucket, ["a", "b"], b"v1")
    trigger = make_trigger(conn, bucket, on="UPDATE", fanout=fanout)

    baseline = await poll(engine, trigger)
    put_objects(s3, bucket, ["a"], b"v2")
    put_objects(s3, bucket, ["c"], b"v1")
    updated = await poll(engine, trigger)
    put_objects(s3, bucket, ["a"], b"v3")
    again = await poll(engine, trigger)

    assert baseline == []
    assert [o["key"] for f in updated for o in f.variables["objects"]] == ["a"]
    assert [o["key"] for f in again for o in f.variables["objects"]] == ["a"]


async def test_trigger_fires_every_one_of_1000_objects_in_40_polls(
    s3, conn, bucket, engine
):
    keys = [f"in/{i:04d}.csv" for i in range(1000)]
    seed_objects(bucket, keys)
    trigger = make_trigger(conn, bucket, maxFiles=25, download=False)

    per_poll = [len(await poll(engine, trigger)) for _ in range(40)]

    assert per_poll == [25] * 40
    assert engine.fired_keys() == keys
    assert await poll(engine, trigger) == []
    assert len(json.dumps(engine.cursor)) < 100  # no per-object memory


async def test_trigger_reaches_objects_added_before_the_cursor(
    s3, conn, bucket, engine
):
    seed_objects(bucket, [f"m{i:02d}" for i in range(10)])
    trigger = make_trigger(conn, bucket, maxFiles=4, download=False)
    await poll(engine, trigger)  # fires m00..m03; cursor at m03
    put_objects(s3, bucket, ["a-late"])

    fired = [
        k
        for _ in range(4)
        for k in [f.variables["key"] for f in await poll(engine, trigger)]
    ]

    assert fired == ["m04", "m05", "m06", "m07", "m08", "m09", "a-late"]


async def test_trigger_max_keys_bounds_listing_per_poll_and_still_progresses(
    s3, conn, bucket, engine
):
    seed_objects(bucket, [f"k{i:02d}" for i in range(10)])
    trigger = make_trigger(conn, bucket, maxKeys=3, maxFiles=100, download=False)

    per_poll = [
        [f.variables["key"] for f in await poll(engine, trigger)] for _ in range(5)
    ]

    assert per_poll[:4] == [
        ["k00", "k01", "k02"],
        ["k03", "k04", "k05"],
        ["k06", "k07", "k08"],
        ["k09"],
    ]
    assert per_poll[4] == []


async def test_trigger_crash_before_recording_loses_nothing(s3, conn, bucket, engine):
    seed_objects(bucket, [f"k{i}" for i in range(6)])
    trigger = make_trigger(conn, bucket, maxFiles=3, download=False)

    lost = await trigger.poll(engine.context())  # the process stops: nothing recorded
    fires = await poll(engine, trigger)

    assert [f.variables["key"] for f in lost.fires] == ["k0", "k1", "k2"]
    assert [f.variables["key"] for f in fires] == ["k0", "k1", "k2"]


async def test_trigger_crash_between_fires_and_cursor_fires_nothing_twice(
    s3, conn, bucket, engine
):
    seed_objects(bucket, [f"k{i}" for i in range(6)])
    trigger = make_trigger(conn, bucket, maxFiles=3, download=False)

    first = await trigger.poll(engine.context())
    engine.record(first, keep_cursor=False)  # fires recorded, cursor lost
    second = await poll(engine, trigger)
    third = await poll(engine, trigger)

    assert [f.variables["key"] for f in second] == ["k3", "k4", "k5"]
    assert third == []
    assert engine.fired_keys() == [f"k{i}" for i in range(6)]


async def test_trigger_batch_crash_between_fire_and_cursor_does_not_refire(
    s3, conn, bucket, engine
):
    put_objects(s3, bucket, ["a", "b"])
    trigger = make_trigger(conn, bucket, fanout="BATCH", download=False)

    first = await trigger.poll(engine.context())
    engine.record(first, keep_cursor=False)
    again = await trigger.poll(engine.context())

    assert len(first.fires) == 1
    assert again.fires == []


async def test_trigger_forgets_objects_that_left_the_bucket(s3, conn, bucket, engine):
    put_objects(s3, bucket, ["a", "b", "c"])
    trigger = make_trigger(conn, bucket, on="UPDATE", download=False)
    await poll(engine, trigger)
    assert sorted(engine.cursor["seen"]) == ["a", "b", "c"]
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "c"}]})

    await poll(engine, trigger)

    assert sorted(engine.cursor["seen"]) == ["b"]


async def test_trigger_keys_are_scoped_to_the_trigger(s3, conn, bucket, tmp_path):
    put_objects(s3, bucket, ["a"])
    trigger = make_trigger(conn, bucket, download=False)
    engine = EngineRecorder(tmp_path)

    one = await trigger.poll(engine.context(trigger_id="one"))
    engine.record(one)
    two = await trigger.poll(engine.context(trigger_id="two"))

    assert len(two.fires) == 1
    assert two.fires[0].idempotency_key != one.fires[0].idempotency_key


def test_trigger_refuses_move_back_under_watched_prefix():
    with pytest.raises(ValidationError, match="would fire again"):
        Trigger.model_validate(
            {
                "bucket": "b",
                "prefix": "in/",
                "action": "MOVE",
                "moveTo": {"key": "in/done"},
            }
        )
    with pytest.raises(ValidationError, match="moveTo"):
        Trigger.model_validate({"bucket": "b", "action": "MOVE"})


def test_trigger_reads_kestra_properties():
    trigger = Trigger.model_validate(
        {
            "bucket": "b",
            "interval": "PT30S",
            "prefix": "in/",
            "maxKeys": 50,
            "action": "MOVE",
            "moveTo": {"bucket": "archive", "key": "x"},
            "on": "CREATE",
            "filter": "FILES",
        }
    )

    assert trigger.interval.total_seconds() == 30
    assert trigger.move_to.bucket == "archive"


def test_trigger_reads_on_key_that_yaml_turned_into_true():
    props = yaml.safe_load("bucket: b\non: UPDATE\n")

    assert Trigger.model_validate(props).on == "UPDATE"


async def test_trigger_keeps_firing_when_a_pending_action_fails(
    s3, conn, bucket, engine
):
    put_objects(s3, bucket, ["a"])
    trigger = make_trigger(
        conn, bucket, action="MOVE", moveTo={"bucket": "no-such-archive-bucket"}
    )
    first = await poll(engine, trigger, after_fire=False)
    with pytest.raises(TaskError, match="NoSuchBucket"):
        await trigger.after_fire(engine.context(), first[0], "exec-1")
    put_objects(s3, bucket, ["b"])

    ctx = engine.context()
    second = engine.record(await trigger.poll(ctx))

    assert [f.variables["key"] for f in second] == ["b"]
    assert any("retried next poll" in m for m in ctx.logger.warnings)
    assert all_keys(s3, bucket) == ["a", "b"]
