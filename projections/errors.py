"""Errors of the views and the reads over them.

OrchestratorError (sluice.core.errors)
└── ProjectionError
    ├── BadQueryError           an argument of a read is invalid (a time, a cursor,
    │                           an event version); also a ValueError
    ├── UnknownProjectionError  no view has that name; the message lists them
    └── RebuildError            a rebuild could not finish (another one is running)
"""

from __future__ import annotations

from sluice.core.errors import OrchestratorError


class ProjectionError(OrchestratorError):
    """Base of the errors of sluice.projections."""


class BadQueryError(ProjectionError, ValueError):
    """An argument of a read is invalid: a time, a page cursor, an event version."""


class UnknownProjectionError(ProjectionError):
    """No projection has that name."""


class RebuildError(ProjectionError):
    """A rebuild could not finish (another rebuild of the same view is running)."""
