"""Runs the triggers of deployed flows: schedules and polling triggers.

A fire and the execution it creates are appended in ONE transaction, the fire carrying
an idempotency key (the trigger's own: bucket/key/ETag for S3, the scheduled time for a
schedule). A key recorded already makes the append a duplicate that writes nothing, so
two servers polling the same bucket, or a server restarted mid-poll, never start an
execution twice. A trigger that fails to evaluate records `TriggerEvaluationFailed` (once
per distinct error) and the server goes on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sluice.core import registry
from sluice.core.errors import DuplicateEventError, OrchestratorError
from sluice.core.events import (
    ExecutionCreated,
    JsonValue,
    NewEvent,
    RecordedEvent,
    TriggerActionCompleted,
    TriggerCursorAdvanced,
    TriggerEvaluationFailed,
    TriggerFired,
)
from sluice.core.expressions import Renderer
from sluice.core.flow import Flow, TriggerDef
from sluice.core.inputs import validate_inputs
from sluice.core.plugin import Fire, PollingTrigger, ScheduleTrigger, TriggerContext
from sluice.core.ports import ANY_VERSION, Clock, EventLog, Storage, StreamAppend
from sluice.core.worker import BufferedLogger

logger = logging.getLogger("sluice.triggers")


def trigger_stream(namespace: str, flow_id: str, trigger_id: str) -> str:
    """The stream of one trigger's fires, cursor and failures."""
    return f"trigger/{namespace}/{flow_id}/{trigger_id}"


@dataclass
class _TriggerState:
    cursor: JsonValue = None
    last_scheduled: datetime | None = None
    next_poll: float = 0.0
    last_error: str = ""
    fires: dict[str, dict[str, JsonValue]] = field(default_factory=dict)


class TriggerRunner:
    """Evaluates every enabled trigger of the given flows when it is due."""

    def __init__(
        self,
        log: EventLog,
        storage: Storage,
        clock: Clock,
        renderer: Renderer,
        actor_id: str = "local",
    ) -> None:
        self.log, self.storage, self.clock, self.renderer = (
            log,
            storage,
            clock,
            renderer,
        )
        self.actor_id = actor_id
        self.states: dict[str, _TriggerState] = {}

    def _state(self, stream: str) -> _TriggerState:
        state = self.states.get(stream)
        if state is None:
            state = self.states[stream] = _TriggerState()
            for recorded in self.log.read_stream(stream):
                self._observe(state, recorded)
        return state

    @staticmethod
    def _observe(state: _TriggerState, recorded: RecordedEvent) -> None:
        event = recorded.event
        if isinstance(event, TriggerCursorAdvanced):
            state.cursor = event.cursor
        elif isinstance(event, TriggerFired):
            if event.scheduled_for is not None:
                state.last_scheduled = event.scheduled_for
            state.fires[event.execution_id] = dict(event.variables)

    async def tick(self, flows: list[Flow]) -> int:
        """Evaluate every due trigger once; return how many executions were created."""
        created = 0
        for flow in flows:
            if flow.disabled:
                continue
            for trigger in flow.triggers:
                if not trigger.disabled:
                    created += await self.evaluate(flow, trigger)
        return created

    async def evaluate(self, flow: Flow, trigger: TriggerDef) -> int:
        stream = trigger_stream(flow.namespace, flow.id, trigger.id)
        state = await asyncio.to_thread(self._state, stream)
        now = self.clock.now()
        if now.timestamp() < state.next_poll:
            return 0
        try:
            instance = self.instantiate(flow, trigger)
            if isinstance(instance, ScheduleTrigger):
                return await self.schedule(flow, trigger, instance, state, stream)
            assert isinstance(instance, PollingTrigger)
            state.next_poll = now.timestamp() + instance.interval.total_seconds()
            return await self.poll(flow, trigger, instance, state, stream)
        except Exception as err:  # noqa: BLE001 (a failing trigger must not stop the server)
            await self.failed(trigger, state, stream, err)
            return 0

    def instantiate(self, flow: Flow, trigger: TriggerDef) -> Any:
        cls = registry.trigger_class(trigger.type)
        if cls is None:
            raise OrchestratorError(f"unknown trigger type {trigger.type!r}")
        context = {
            "flow": {"id": flow.id, "namespace": flow.namespace},
            "vars": flow.variables,
        }
        return cls.model_validate(self.renderer.render(trigger.props, context))

    async def schedule(
        self,
        flow: Flow,
        trigger: TriggerDef,
        instance: ScheduleTrigger,
        state: _TriggerState,
        stream: str,
    ) -> int:
        now = self.clock.now()
        if state.last_scheduled is None:
            state.last_scheduled = now  # a new schedule starts from now, not from 1970
            return 0
        due_times = getattr(instance, "due_between", None)
        times = due_times(state.last_scheduled, now) if due_times else []
        created = 0
        for when in times:
            key = f"schedule:{stream}@{when.isoformat()}"
            variables = {"date": when.isoformat(), "next": None}
            fired = await self.fire_once(
                flow,
                trigger,
                Fire(idempotency_key=key, variables=variables),
                stream,
                scheduled_for=when,
            )
            created += fired is not None
            state.last_scheduled = when
        if times:
            state.last_scheduled = max(state.last_scheduled, now)
        return created

    async def poll(
        self,
        flow: Flow,
        trigger: TriggerDef,
        instance: PollingTrigger,
        state: _TriggerState,
        stream: str,
    ) -> int:
        ctx = self.context(flow, trigger, state)
        result = await instance.poll(ctx)
        created = 0
        for fire in result.fires:
            execution_id = await self.fire_once(flow, trigger, fire, stream)
            if execution_id is not None:
                created += 1
                await instance.after_fire(ctx, fire, execution_id)
        if result.cursor != state.cursor:
            event = TriggerCursorAdvanced(trigger_id=trigger.id, cursor=result.cursor)
            await asyncio.to_thread(
                self.log.append, stream, [self._new(event)], ANY_VERSION
            )
            state.cursor = result.cursor
        state.last_error = ""
        return created

    def context(
        self, flow: Flow, trigger: TriggerDef, state: _TriggerState
    ) -> TriggerContext:
        lines: list[Any] = []
        log = BufferedLogger("", trigger.id, 0, self.clock, [], lines)
        return TriggerContext(
            namespace=flow.namespace,
            flow_id=flow.id,
            trigger_id=trigger.id,
            storage=self.storage,
            logger=log,
            clock=self.clock,
            cursor=state.cursor,
            known_keys=self.log.known_idempotency_keys,
        )

    async def fire_once(
        self,
        flow: Flow,
        trigger: TriggerDef,
        fire: Fire,
        stream: str,
        scheduled_for: datetime | None = None,
    ) -> str | None:
        """Record the fire and create its execution in one transaction; None if a
        duplicate (fired before, here or by another server)."""
        execution_id = uuid.uuid4().hex[:16]
        variables = {"type": trigger.type, "id": trigger.id, **fire.variables}
        raw_inputs = {
            **self.renderer.render(trigger.inputs, {"trigger": variables}),
            **fire.inputs,
        }
        inputs = validate_inputs(flow.inputs, raw_inputs)
        fired = TriggerFired(
            trigger_id=trigger.id,
            namespace=flow.namespace,
            flow_id=flow.id,
            execution_id=execution_id,
            variables=variables,
            scheduled_for=scheduled_for,
        )
        created = ExecutionCreated(
            execution_id=execution_id,
            namespace=flow.namespace,
            flow_id=flow.id,
            flow_revision=flow.revision,
            inputs=inputs,
            labels=dict(flow.labels),
            trigger=variables,
        )
        actor = f"trigger:{flow.namespace}/{flow.id}/{trigger.id}"
        appends = [
            StreamAppend(
                stream=stream,
                events=[
                    NewEvent(
                        event=fired,
                        actor=actor,
                        idempotency_key=fire.idempotency_key,
                        correlation_id=execution_id,
                    )
                ],
                expected_version=ANY_VERSION,
            ),
            StreamAppend(
                stream=f"execution/{execution_id}",
                events=[
                    NewEvent(event=created, actor=actor, correlation_id=execution_id)
                ],
                expected_version=0,
            ),
        ]
        try:
            await asyncio.to_thread(self.log.append_many, appends)
        except DuplicateEventError:
            return None
        return execution_id

    async def after_execution(
        self,
        flow: Flow,
        trigger: TriggerDef,
        execution_id: str,
        variables: dict[str, JsonValue],
        final: str,
    ) -> None:
        """Let the trigger act on an execution it started that has ended (actionOn
        SUCCESS); claimed through an idempotency key so one server acts."""
        stream = trigger_stream(flow.namespace, flow.id, trigger.id)
        claim = TriggerActionCompleted(
            trigger_id=trigger.id,
            execution_id=execution_id,
            action="after_execution",
            detail={"state": final},
        )
        try:
            instance = self.instantiate(flow, trigger)
            if not isinstance(instance, PollingTrigger):
                return
            await asyncio.to_thread(
                self.log.append,
                stream,
                [
                    NewEvent(
                        event=claim,
                        actor=f"trigger:{flow.namespace}/{flow.id}/{trigger.id}",
                        idempotency_key=f"after:{execution_id}",
                    )
                ],
                ANY_VERSION,
            )
            state = await asyncio.to_thread(self._state, stream)
            await instance.after_execution(
                self.context(flow, trigger, state), variables, final
            )
        except DuplicateEventError:
            return
        except Exception as err:  # noqa: BLE001 (a failing action must not stop the server)
            await self.failed(trigger, self._state(stream), stream, err)

    async def failed(
        self, trigger: TriggerDef, state: _TriggerState, stream: str, err: BaseException
    ) -> None:
        message = str(err) or type(err).__name__
        logger.warning("trigger %s failed: %s", stream, message)
        if message == state.last_error:
            return
        state.last_error = message
        event = TriggerEvaluationFailed(
            trigger_id=trigger.id, error_type=type(err).__name__, message=message
        )
        try:
            await asyncio.to_thread(
                self.log.append, stream, [self._new(event)], ANY_VERSION
            )
        except OrchestratorError:
            logger.exception("could not record the failure of trigger %s", stream)

    def _new(self, event: Any) -> NewEvent:
        return NewEvent(event=event, actor=f"server:{self.actor_id}")
