"""EMR steps as flows write them, and what an EMR cluster wait looks at."""

from __future__ import annotations

import shlex
from typing import Any, Literal

from pydantic import Field

from sluice.core.plugin import PluginModel
from sluice.plugins.aws._jobs import JobStatus

STEP_FAILED = frozenset({"FAILED", "CANCELLED", "INTERRUPTED"})
"""Step states that fail a cluster wait."""


class StepConfig(PluginModel):
    """One EMR step: a jar (often `command-runner.jar`) and its arguments.

    `commands` are split like a shell would (quotes honoured, unlike Kestra's split on
    single spaces) and joined into one argument list; `args` are taken as they are.
    """

    name: str
    jar: str
    main_class: str | None = None
    commands: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    action_on_failure: Literal[
        "TERMINATE_CLUSTER", "CANCEL_AND_WAIT", "CONTINUE", "TERMINATE_JOB_FLOW"
    ]

    def to_api(self) -> dict[str, Any]:
        """The step as `RunJobFlow`/`AddJobFlowSteps` take it."""
        argv = [part for command in self.commands for part in shlex.split(command)]
        jar_step: dict[str, Any] = {"Jar": self.jar, "Args": [*argv, *self.args]}
        if self.main_class:
            jar_step["MainClass"] = self.main_class
        return {
            "Name": self.name,
            "ActionOnFailure": self.action_on_failure,
            "HadoopJarStep": jar_step,
        }


def _step_reason(step: dict[str, Any]) -> str:
    status = step.get("Status", {})
    failure = status.get("FailureDetails", {})
    return str(
        failure.get("Message")
        or failure.get("Reason")
        or status.get("StateChangeReason", {}).get("Message")
        or "EMR gave no reason"
    )


def cluster_status(
    cluster: dict[str, Any], steps: list[dict[str, Any]], step_ids: list[str]
) -> JobStatus:
    """Where a cluster and the steps we submitted stand.

    Done when the cluster is WAITING (idle) or TERMINATED with every step COMPLETED.
    Failed when it is TERMINATED_WITH_ERRORS (Kestra only logs that), when a step
    failed or was cancelled, or when it terminated before the steps ended.
    """
    status = cluster["Status"]
    state = status["State"]
    ours = {s["Id"]: s for s in steps if s["Id"] in step_ids}
    step_states = {sid: ours[sid]["Status"]["State"] for sid in ours}
    detail = {"cluster": cluster, "stepStates": step_states}
    if state == "TERMINATED_WITH_ERRORS":
        reason = status.get("StateChangeReason", {}).get("Message") or "no reason"
        return JobStatus(state=state, finished=True, error=reason, detail=detail)
    for sid, step in ours.items():
        if step_states[sid] in STEP_FAILED:
            error = (
                f"step {step.get('Name', sid)} {step_states[sid]}: {_step_reason(step)}"
            )
            return JobStatus(state=state, finished=True, error=error, detail=detail)
    all_done = all(step_states.get(sid) == "COMPLETED" for sid in step_ids)
    if state == "TERMINATED" and not all_done:
        error = "cluster terminated before its steps ended"
        return JobStatus(state=state, finished=True, error=error, detail=detail)
    finished = state in {"WAITING", "TERMINATED"} and all_done
    return JobStatus(state=state, finished=finished, detail=detail)
