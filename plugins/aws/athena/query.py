"""`aws.athena.Query`: run an Athena query, wait for it durably, return typed rows."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any, ClassVar

from sluice.core.events import JsonValue
from sluice.core.plugin import RunContext, Waiting
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask
from sluice.plugins.aws._jobs import (
    FetchOutputs,
    FetchType,
    JobStatus,
    client_token,
    fetch_rows,
    poll_job,
    started,
)
from sluice.plugins.aws.athena._types import typed_row

_RUNNING = frozenset({"QUEUED", "RUNNING"})


class QueryOutputs(FetchOutputs):
    """The query's id and statistics, plus its rows as `fetchType` asks."""

    query_execution_id: str
    state: str | None = None
    output_location: str | None = None
    data_scanned_bytes: int | None = None
    total_execution_time_ms: int | None = None


@register_task
class Query(AwsTask):
    """Run an Athena query and return its rows, numbers as numbers.

    The wait is durable: the first attempt starts the query (with the task run's
    idempotency token, so a retried start does not run it twice) and hands its id to
    the engine; later polls, every `interval`, look at that query. A FAILED or CANCELLED
    query fails the task with Athena's reason; after `maxDuration` the query is stopped
    and the task fails.

    `fetchType`: STORE (default) writes the rows to internal storage as JSON lines
    (`uri`), FETCH returns `rows`, FETCH_ONE returns `row`, NONE returns only `size`.
    `skipHeader` (default true) drops the header row Athena returns first. Unlike
    Kestra, NONE still waits for the query to end (a failed query fails the task) and
    `queryExecutionId` is always in the outputs; `wait: false` returns right after the
    start, with the id only.

    Example:
        ```yaml
        id: athena_query
        namespace: company.team
        tasks:
          - id: query
            type: aws.athena.Query
            region: us-east-1
            database: sales
            outputLocation: s3://athena-results/sales/
            query: SELECT region, sum(amount) AS total FROM orders GROUP BY region
            fetchType: FETCH
        ```
    """

    type_name: ClassVar[str] = "aws.athena.Query"
    database: str
    catalog: str | None = None
    output_location: str | None = None
    work_group: str | None = None
    query: str
    fetch_type: FetchType = FetchType.STORE
    skip_header: bool = True
    wait: bool = True
    interval: timedelta = timedelta(seconds=1)
    max_duration: timedelta | None = None

    async def run(self, ctx: RunContext) -> QueryOutputs | Waiting:
        """Start the query (first call) or look at it again (later calls)."""
        if ctx.checkpoint is None:
            query_id = await self._start(ctx)
            if not self.wait:
                return QueryOutputs(query_execution_id=query_id)
            return started(ctx, {"queryExecutionId": query_id}, self.interval)
        result = await poll_job(
            ctx,
            "Athena query",
            self._poll,
            interval=self.interval,
            max_duration=self.max_duration,
            cancel=self._cancel,
        )
        if isinstance(result, Waiting):
            return result
        return await self._outputs(ctx, result.detail)

    async def _start(self, ctx: RunContext) -> str:
        context = {"Database": self.database}
        if self.catalog:
            context["Catalog"] = self.catalog
        kwargs: dict[str, Any] = {
            "QueryString": self.query,
            "QueryExecutionContext": context,
            "ClientRequestToken": client_token(ctx),
        }
        if self.output_location:
            kwargs["ResultConfiguration"] = {"OutputLocation": self.output_location}
        if self.work_group:
            kwargs["WorkGroup"] = self.work_group
        athena = self.client("athena")
        response = await self.call(
            f"athena:StartQueryExecution {self.database}",
            athena.start_query_execution,
            **kwargs,
        )
        query_id: str = response["QueryExecutionId"]
        ctx.info(f"Athena query {query_id} started")
        return query_id

    async def _poll(self, checkpoint: dict[str, JsonValue]) -> JobStatus:
        query_id = str(checkpoint["queryExecutionId"])
        athena = self.client("athena")
        response = await self.call(
            f"athena:GetQueryExecution {query_id}",
            athena.get_query_execution,
            QueryExecutionId=query_id,
        )
        execution = response["QueryExecution"]
        status = execution["Status"]
        state = status["State"]
        error = None
        if state not in _RUNNING and state != "SUCCEEDED":
            error = (
                status.get("AthenaError", {}).get("ErrorMessage")
                or status.get("StateChangeReason")
                or "Athena gave no reason"
            )
        return JobStatus(
            state=state, finished=state not in _RUNNING, error=error, detail=execution
        )

    async def _cancel(self, checkpoint: dict[str, JsonValue]) -> None:
        query_id = str(checkpoint["queryExecutionId"])
        athena = self.client("athena")
        await self.call(
            f"athena:StopQueryExecution {query_id}",
            athena.stop_query_execution,
            QueryExecutionId=query_id,
        )

    async def _outputs(
        self, ctx: RunContext, execution: dict[str, Any]
    ) -> QueryOutputs:
        query_id = execution["QueryExecutionId"]
        fetched = await fetch_rows(ctx, self._rows(query_id), self.fetch_type)
        stats = execution.get("Statistics", {})
        return QueryOutputs(
            **dict(fetched),
            query_execution_id=query_id,
            state=execution["Status"]["State"],
            output_location=execution.get("ResultConfiguration", {}).get(
                "OutputLocation"
            ),
            data_scanned_bytes=stats.get("DataScannedInBytes"),
            total_execution_time_ms=stats.get("TotalExecutionTimeInMillis"),
        )

    async def _rows(self, query_id: str) -> AsyncGenerator[dict[str, JsonValue], None]:
        """Every result row, page after page, typed by the column types."""
        athena = self.client("athena")
        kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 1000}
        skip = self.skip_header
        while True:
            page = await self.call(
                f"athena:GetQueryResults {query_id}", athena.get_query_results, **kwargs
            )
            result = page["ResultSet"]
            columns = result.get("ResultSetMetadata", {}).get("ColumnInfo", [])
            rows = result.get("Rows", [])
            if skip:
                rows, skip = rows[1:], False
            for row in rows:
                yield typed_row(columns, row)
            if not page.get("NextToken"):
                return
            kwargs["NextToken"] = page["NextToken"]
