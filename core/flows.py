"""Flow revisions live in the log: deploying is appending `FlowDeployed`.

`FlowRepository` deploys a flow's source (a new revision only when the text changed),
and loads any revision back by parsing the source its event recorded, so an execution
always runs the exact revision it was created with.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from sluice.core.errors import ConcurrencyConflictError, FlowError
from sluice.core.events import FlowDeployed, NewEvent
from sluice.core.flow import Flow, parse_flow
from sluice.core.ports import EventLog


def flow_stream(namespace: str, flow_id: str) -> str:
    """The stream holding a flow's revisions."""
    return f"flow/{namespace}/{flow_id}"


class FlowRepository:
    """Deploys flows and loads their revisions from the event log (cached)."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._lock = threading.Lock()
        self._revisions: dict[tuple[str, str, int], Flow] = {}

    def deploy(self, source: str, file: str | None = None, actor: str = "user") -> Flow:
        """Validate and deploy `source`; return the flow at its (new or same) revision."""
        flow = parse_flow(source, file)
        stream = flow_stream(flow.namespace, flow.id)
        for _ in range(5):
            events = self.log.read_stream(stream)
            last = events[-1].event if events else None
            if isinstance(last, FlowDeployed) and last.checksum == flow.checksum:
                return self._remember(replace(flow, revision=last.revision))
            revision = (last.revision if isinstance(last, FlowDeployed) else 0) + 1
            deployed = FlowDeployed(
                namespace=flow.namespace,
                flow_id=flow.id,
                revision=revision,
                source=source,
                checksum=flow.checksum,
            )
            try:
                self.log.append(
                    stream, [NewEvent(event=deployed, actor=actor)], len(events)
                )
            except ConcurrencyConflictError:
                continue
            return self._remember(replace(flow, revision=revision))
        raise FlowError(
            f"could not deploy {flow.namespace}/{flow.id}: too many concurrent deploys"
        )

    def _remember(self, flow: Flow) -> Flow:
        with self._lock:
            self._revisions[(flow.namespace, flow.id, flow.revision)] = flow
        return flow

    def cached(self, namespace: str, flow_id: str, revision: int) -> Flow | None:
        """A revision already loaded, without touching the database (hot path)."""
        with self._lock:
            return self._revisions.get((namespace, flow_id, revision))

    def get(self, namespace: str, flow_id: str, revision: int) -> Flow:
        """A given revision; `FlowError` if it does not exist."""
        cached = self.cached(namespace, flow_id, revision)
        if cached is not None:
            return cached
        for recorded in self.log.read_stream(flow_stream(namespace, flow_id)):
            event = recorded.event
            if isinstance(event, FlowDeployed) and event.revision == revision:
                flow = parse_flow(event.source, f"{namespace}/{flow_id}@{revision}")
                return self._remember(replace(flow, revision=revision))
        raise FlowError(f"flow {namespace}/{flow_id} has no revision {revision}")

    def latest(self, namespace: str, flow_id: str) -> Flow | None:
        """The newest revision, or None if the flow was never deployed."""
        events = self.log.read_stream(flow_stream(namespace, flow_id))
        deployed = [e.event for e in events if isinstance(e.event, FlowDeployed)]
        if not deployed:
            return None
        return self.get(namespace, flow_id, deployed[-1].revision)

    def all_latest(self) -> list[Flow]:
        """The newest revision of every deployed flow."""
        found = []
        for stream in self.log.streams("flow/"):
            _, namespace, flow_id = stream.split("/", 2)
            flow = self.latest(namespace, flow_id)
            if flow is not None:
                found.append(flow)
        return found
