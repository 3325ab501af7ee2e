"""The variables a `{{ … }}` sees, built from a flow and an execution's folded state.

`outputs.<taskId>` is the task's outputs; inside a ForEach a task has one run per value,
so `outputs.<taskId>` is a map from the value (as a string) to that run's outputs, and
`outputs.<taskId>[taskrun.value]` reads the sibling's output for the current value, as
in Kestra. Secret outputs are stored redacted; the real values come from `secret_outputs`
(kept outside the log) and are merged here only in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sluice.core.events import JsonValue
from sluice.core.flow import Flow
from sluice.core.state import ExecutionState, TaskRunState

SecretOutputs = Callable[[str, str], Mapping[str, str]]
"""(execution_id, task_run_id) -> the secret output values of that task run."""

INPUTS_VAULT_KEY = "__inputs__"
"""The vault entry holding an execution's SECRET inputs (stored redacted in the log)."""


def _key(value: JsonValue) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


class _ByValue(dict[str, Any]):
    """Outputs of a task inside a ForEach, by loop value: `outputs.x[taskrun.value]`
    works whether the value is a string, a number or an object."""

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(_key(key))

    def get(self, key: Any, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(_key(key), default)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(_key(key))  # type: ignore[arg-type]


def outputs_of(
    state: ExecutionState, secret_outputs: SecretOutputs | None = None
) -> dict[str, Any]:
    """Every settled task run's outputs, keyed by task id (and by value in loops)."""
    found: dict[str, Any] = {}
    for run in state.task_runs.values():
        if not (run.outputs or run.state in {"SUCCESS", "WARNING"}):
            continue
        outputs = dict(run.outputs)
        if run.secret_outputs and secret_outputs is not None:
            outputs.update(secret_outputs(state.id, run.id))
        if run.value is None:
            found[run.task_id] = outputs
        else:
            slot = found.setdefault(run.task_id, _ByValue())
            if isinstance(slot, dict):
                slot[_key(run.value)] = outputs
    return found


def build_context(
    flow: Flow,
    state: ExecutionState,
    run: TaskRunState | None = None,
    *,
    value: JsonValue = None,
    iteration: int | None = None,
    secret_outputs: SecretOutputs | None = None,
) -> dict[str, Any]:
    """The expression context for `run` (or for the execution itself when None)."""
    parent_run = state.task_runs.get(run.parent_id) if run and run.parent_id else None
    if run is not None:
        value, iteration = run.value, run.iteration
    context: dict[str, Any] = {
        "flow": {
            "id": flow.id,
            "namespace": flow.namespace,
            "revision": state.flow_revision,
        },
        "execution": {
            "id": state.id,
            "startDate": state.started.isoformat() if state.started else None,
            "state": state.state,
            "originalId": state.origin.execution_id if state.origin else state.id,
        },
        "inputs": _inputs(state, secret_outputs),
        "vars": flow.variables,
        "labels": state.labels,
        "trigger": state.trigger or {},
        "outputs": outputs_of(state, secret_outputs),
        "taskrun": {
            "id": run.id if run else None,
            "value": value,
            "iteration": iteration,
            "attemptsCount": run.attempt if run else 0,
            "parentId": run.parent_id if run else None,
            "startDate": run.started.isoformat() if run and run.started else None,
        },
        "parent": {
            "taskrun": {"value": parent_run.value if parent_run else None},
            "outputs": parent_run.outputs if parent_run else {},
        },
    }
    if run is not None:
        task = flow.task(run.task_id)
        context["task"] = {"id": run.task_id, "type": task.type if task else None}
    return context


def _inputs(
    state: ExecutionState, secret_outputs: SecretOutputs | None
) -> dict[str, Any]:
    from sluice.core.plugin import REDACTED

    if secret_outputs is None or REDACTED not in state.inputs.values():
        return state.inputs
    return {**state.inputs, **secret_outputs(state.id, INPUTS_VAULT_KEY)}
