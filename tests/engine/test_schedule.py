"""The Schedule trigger: fires are events, so a restart neither skips nor repeats one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sluice.core.expressions import Renderer
from sluice.core.triggers import TriggerRunner
from tests.engine.conftest import flow_source
from tests.plugin_context import ManualClock

FLOW = """
    id: every5
    namespace: sched
    inputs:
      - id: who
        type: STRING
        defaults: nobody
    triggers:
      - id: tick
        type: core.Schedule
        cron: "*/5 * * * *"
        timezone: Europe/Paris
        recoverMissedSchedules: {recover}
        inputs:
          who: "{{{{ trigger.date }}}}"
    tasks:
      - id: a
        type: core.Return
        format: "{{{{ inputs.who }}}}"
"""


def runner(runtime, clock):
    return TriggerRunner(runtime.log, runtime.storage, clock, Renderer(now=clock.now))


def fires(runtime, flow):
    events = runtime.log.read_stream(f"trigger/{flow.namespace}/{flow.id}/tick")
    return [e.event for e in events if e.type == "TriggerFired"]


@pytest.mark.parametrize(("recover", "expected"), [("ALL", 3), ("LAST", 1)])
async def test_schedule_fires_once_per_slot_and_a_restart_repeats_nothing(
    runtime, recover, expected
):
    flow = runtime.flows.deploy(flow_source(FLOW.format(recover=recover)))
    clock = ManualClock(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC))
    first = runner(runtime, clock)
    assert await first.tick([flow]) == 0
    clock.advance(timedelta(minutes=5))
    assert await first.tick([flow]) == 1
    assert await first.tick([flow]) == 0
    fired = fires(runtime, flow)
    assert [f.scheduled_for for f in fired] == [datetime(2026, 3, 1, 12, 5, tzinfo=UTC)]
    created = runtime.state(fired[0].execution_id)
    assert created.inputs == {"who": "2026-03-01T12:05:00+00:00"}
    assert created.trigger["id"] == "tick"

    clock.advance(timedelta(minutes=16))  # 12:21:30: 12:10, 12:15 and 12:20 were missed
    restarted = runner(runtime, clock)
    assert await restarted.tick([flow]) == expected
    assert len(fires(runtime, flow)) == 1 + expected
    assert fires(runtime, flow)[-1].scheduled_for == datetime(
        2026, 3, 1, 12, 20, tzinfo=UTC
    )


async def test_two_runners_on_one_database_fire_a_slot_once(runtime):
    flow = runtime.flows.deploy(flow_source(FLOW.format(recover="ALL")))
    clock = ManualClock(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC))
    one, two = runner(runtime, clock), runner(runtime, clock)
    await one.tick([flow])
    await two.tick([flow])
    clock.advance(timedelta(minutes=5))
    assert await one.tick([flow]) + await two.tick([flow]) == 1
    assert len(fires(runtime, flow)) == 1


async def test_invalid_cron_is_a_flow_error_naming_the_trigger(runtime):
    from sluice.core.errors import FlowValidationError

    bad = FLOW.format(recover="ALL").replace('"*/5 * * * *"', '"every day"')
    with pytest.raises(FlowValidationError) as err:
        runtime.flows.deploy(flow_source(bad))
    assert "triggers[0]" in str(err.value) and "cron" in str(err.value)
