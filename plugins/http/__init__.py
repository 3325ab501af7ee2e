"""HTTP tasks: `http.Request` (Kestra's `io.kestra.plugin.core.http.Request`)."""

from sluice.plugins.http.request import HttpOptions, Request, RequestOutputs

__all__ = ["HttpOptions", "Request", "RequestOutputs"]
