"""Errors raised by sluice.

Every error sluice raises derives from `OrchestratorError`. Third-party exceptions are
translated once, at the boundary that meets them (SQLSTATE 23505 in eventstore/,
botocore's ClientError in plugins/aws/), and always chained with ``raise … from err``.

    OrchestratorError
    ├── FlowError                      a flow file or definition is invalid
    │   └── FlowValidationError        carries every problem found, each with file/line/path
    ├── InputError                     flow or resume inputs do not validate
    ├── ExpressionError                a `{{ … }}` does not parse or fails to render
    ├── EventLogError                  the event log failed
    │   ├── ConcurrencyConflictError   a stale expected_version (reload and decide again)
    │   ├── DuplicateEventError        an idempotency key was recorded already
    │   ├── EventDecodeError           a stored payload does not decode (unknown type,
    │   │                              newer schema_version, corrupt JSON)
    │   ├── AppendOnlyViolationError   UPDATE/DELETE on `events` was refused
    │   └── DatabaseUnavailableError   the database cannot be reached
    ├── StaleLeaseError                a worker reported with an expired or stolen lease
    ├── ExecutionNotFoundError         no execution with that id
    ├── InvalidCommandError            the command does not fit the execution's state
    ├── StorageError                   internal storage could not read or write a file
    ├── SecretNotFoundError            `secret('X')` has no value
    └── TaskError                      a task run failed; `retryable` tells the retry policy
"""

from __future__ import annotations

from dataclasses import dataclass


class OrchestratorError(Exception):
    """Base of every error sluice raises."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a flow: where (file, line, property path) and what."""

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "<flow>"
        if self.line is not None:
            where += f":{self.line}"
        prop = f" {self.path}:" if self.path else ""
        return f"{where}:{prop} {self.message}"


class FlowError(OrchestratorError):
    """A flow file or definition is invalid."""


class FlowValidationError(FlowError):
    """A flow has one or more problems; all of them are listed, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class InputError(OrchestratorError):
    """Flow inputs or resume inputs do not validate."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class ExpressionError(OrchestratorError):
    """A template expression does not parse or fails to render."""


class EventLogError(OrchestratorError):
    """The event log failed."""


class ConcurrencyConflictError(EventLogError):
    """The stream moved on since it was read: reload, decide again, append again."""


class DuplicateEventError(EventLogError):
    """An event with this idempotency key is recorded already; nothing was written."""


class EventDecodeError(EventLogError):
    """A stored event cannot be decoded (unknown type, newer schema, corrupt data)."""


class AppendOnlyViolationError(EventLogError):
    """The database refused an UPDATE or DELETE on the append-only event table."""


class DatabaseUnavailableError(EventLogError):
    """The database URL cannot be reached or opened."""


class StaleLeaseError(OrchestratorError):
    """A worker reported a task run with a lease that expired or was handed to another."""


class ExecutionNotFoundError(OrchestratorError):
    """No execution has this id."""


class InvalidCommandError(OrchestratorError):
    """An operator command does not fit the execution's current state."""


class StorageError(OrchestratorError):
    """Internal storage could not read or write a file."""


class SecretNotFoundError(OrchestratorError):
    """A secret has no value in any configured provider."""


class TaskError(OrchestratorError):
    """A task run failed.

    Args:
        message: what failed and why, shown to the user and stored in `TaskRunFailed`.
        retryable: True for transient failures (throttling, 5xx, timeouts), False for
            permanent ones the retry policy must not repeat (access denied, missing
            resource, bad input), None when the task cannot tell: the policy retries.
        error_type: a short classification, e.g. the AWS error code.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        error_type: str = "TaskError",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.error_type = error_type
