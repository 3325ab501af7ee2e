"""Views rebuilt from the event log (executions, task runs, audit, triggers) and reads.

The views are disposable: `catch_up` brings them to the log's head (every read command
calls it first), `ProjectionRunner.run_forever` keeps them current in `sluice server`,
and `rebuild` recomputes one from zero while writers keep running. `replay_execution`
re-folds one execution's events up to a point (time travel, audited).
"""

from sluice.projections.errors import (
    BadQueryError,
    ProjectionError,
    RebuildError,
    UnknownProjectionError,
)
from sluice.projections.log_view import (
    EventRecord,
    execution_events,
    record_of,
    start_for_last,
    tail,
)
from sluice.projections.queries import (
    AuditFilter,
    AuditPage,
    AuditRow,
    ExecutionDetail,
    ExecutionFilter,
    ExecutionPage,
    ExecutionRow,
    TaskRunRow,
    TriggerRow,
    get_execution,
    list_executions,
    list_triggers,
    parse_time,
    search_audit,
)
from sluice.projections.rebuild import RebuildReport, rebuild
from sluice.projections.replay import ReplayResult, replay_execution
from sluice.projections.runner import ProjectionRunner, ProjectionStatus, catch_up

__all__ = [
    "AuditFilter",
    "AuditPage",
    "AuditRow",
    "BadQueryError",
    "EventRecord",
    "ExecutionDetail",
    "ExecutionFilter",
    "ExecutionPage",
    "ExecutionRow",
    "ProjectionError",
    "ProjectionRunner",
    "ProjectionStatus",
    "RebuildError",
    "RebuildReport",
    "ReplayResult",
    "TaskRunRow",
    "TriggerRow",
    "UnknownProjectionError",
    "catch_up",
    "execution_events",
    "get_execution",
    "list_executions",
    "list_triggers",
    "parse_time",
    "rebuild",
    "record_of",
    "replay_execution",
    "search_audit",
    "start_for_last",
    "tail",
]
