"""What every dbt CLI task shares: its properties, the dbt command line, the results.

dbt runs as a child process (the `dbt` next to this Python, unless `dbtPath` names
another), so a slow or stuck dbt never blocks the loop and cancelling the task stops
it. Its artifacts go to a temporary target path, never into the project: the project
directory may be shared or read-only. `run_results.json` and `manifest.json` are then
stored and `run_results.json` becomes the task's outputs.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from sluice.core.errors import TaskError
from sluice.core.plugin import RunContext, Task, TaskOutputs
from sluice.plugins.script.process import ProcessResult, child_env, run_logged

FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
"""Node statuses in run_results.json that fail the task (``warn`` does not)."""

_ARTIFACTS = ("run_results.json", "manifest.json")


class NodeResult(BaseModel):
    """One node of run_results.json (`uniqueId`, `status`, `executionTime`, …)."""

    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    unique_id: str
    status: str
    execution_time: float = 0.0
    message: str | None = None


class DbtOutputs(TaskOutputs):
    """The parsed run: node `results`, `success`, `counts` by status, artifact URIs."""

    success: bool
    results: list[NodeResult] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    elapsed_time: float = 0.0
    run_results_uri: str | None = None
    manifest_uri: str | None = None


class DbtCli(Task):
    """Base of the dbt CLI tasks; subclasses set `command` (``build``, ``run``)."""

    command: ClassVar[str] = ""

    project_dir: str
    profiles_dir: str | None = None
    profiles: str | dict[str, Any] | None = Field(default=None, repr=False)
    select: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    target: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    threads: int | None = Field(default=None, ge=1)
    full_refresh: bool = False
    fail_fast: bool = False
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    dbt_path: str | None = None

    @field_validator("select", "exclude", mode="before")
    @classmethod
    def _split_selectors(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_profiles_source(self) -> DbtCli:
        if self.profiles is not None and self.profiles_dir is not None:
            raise ValueError("give profiles or profilesDir, not both")
        return self

    def dbt_argv(self, workdir: str) -> list[str]:
        """The dbt command line; artifacts and logs go under `workdir`."""
        argv = [
            *self._dbt_executable(),
            self.command,
            "--project-dir",
            self.project_dir,
        ]
        if self.profiles is not None:
            argv += ["--profiles-dir", str(Path(workdir, "profiles"))]
        elif self.profiles_dir is not None:
            argv += ["--profiles-dir", self.profiles_dir]
        argv += ["--target-path", str(Path(workdir, "target"))]
        argv += ["--log-path", str(Path(workdir, "logs")), "--no-use-colors"]
        if self.target:
            argv += ["--target", self.target]
        if self.threads:
            argv += ["--threads", str(self.threads)]
        if self.vars:
            argv += ["--vars", json.dumps(self.vars)]
        if self.select:
            argv += ["--select", *self.select]
        if self.exclude:
            argv += ["--exclude", *self.exclude]
        if self.full_refresh:
            argv.append("--full-refresh")
        if self.fail_fast:
            argv.append("--fail-fast")
        return argv

    def _dbt_executable(self) -> list[str]:
        if self.dbt_path:
            return [self.dbt_path]
        beside = Path(sys.executable).parent / "dbt"
        if beside.is_file():
            return [str(beside)]
        return [sys.executable, "-c", "from dbt.cli.main import cli; cli()"]

    async def run(self, ctx: RunContext) -> DbtOutputs:
        """Run dbt, store its artifacts, and fail if any node failed."""
        project_file = Path(self.project_dir, "dbt_project.yml")
        if not await asyncio.to_thread(project_file.is_file):
            msg = f"projectDir {self.project_dir!r} has no dbt_project.yml"
            raise TaskError(msg, retryable=False, error_type="DbtProjectError")
        workdir = await asyncio.to_thread(tempfile.mkdtemp, prefix="sluice-dbt-")
        try:
            await asyncio.to_thread(self._write_profiles, workdir)
            result = await self._run_dbt(ctx, workdir)
            outputs = await asyncio.to_thread(_collect, ctx, Path(workdir, "target"))
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
        if result.exit_code != 0 or not outputs.success:
            raise self._failure(result, outputs)
        return outputs

    def _write_profiles(self, workdir: str) -> None:
        if self.profiles is None:
            return
        folder = Path(workdir, "profiles")
        folder.mkdir()
        text = (
            self.profiles
            if isinstance(self.profiles, str)
            else json.dumps(self.profiles)
        )
        (folder / "profiles.yml").write_text(text)  # JSON is YAML too

    async def _run_dbt(self, ctx: RunContext, workdir: str) -> ProcessResult:
        # dbt phones home unless told not to; workers often have no way out.
        env = child_env({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **self.env})
        argv = self.dbt_argv(workdir)
        ctx.info(f"running dbt {self.command} on {self.project_dir}")
        try:
            return await run_logged(argv, ctx, cwd=self.project_dir, env=env, tail=30)
        except OSError as err:
            msg = f"cannot start dbt ({argv[0]}): {err}"
            raise TaskError(msg, retryable=False, error_type="DbtNotFound") from err

    def _failure(self, result: ProcessResult, outputs: DbtOutputs) -> TaskError:
        failed = [r for r in outputs.results if r.status in FAILED_STATUSES]
        head = f"dbt {self.command}"
        if outputs.run_results_uri:
            head += f" (run_results: {outputs.run_results_uri})"
        if failed:
            lines = [f"{r.unique_id} ({r.status}): {r.message}" for r in failed]
            count = f"{len(failed)} of {len(outputs.results)} nodes failed"
            msg = "\n".join([f"{head}: {count}", *lines])
            return TaskError(msg, retryable=True, error_type="DbtNodeFailed")
        # dbt writes its errors to stdout. No node failed, so the project or the
        # profile is wrong: trying again will not help.
        tail = [*result.stdout_tail[-15:], *result.stderr_tail[-5:]] or ["(no output)"]
        msg = "\n".join([f"{head} {result.describe_exit()}:", *tail])
        return TaskError(msg, retryable=False, error_type="DbtError")


def _collect(ctx: RunContext, target: Path) -> DbtOutputs:
    """Store the artifacts found in `target` and parse run_results.json."""
    uris: dict[str, str] = {}
    for name in _ARTIFACTS:
        if (target / name).is_file():
            uris[name] = ctx.storage.put_file(
                ctx.storage_path(name), str(target / name)
            )
    if "run_results.json" not in uris:
        return DbtOutputs(success=False, manifest_uri=uris.get("manifest.json"))
    data = json.loads((target / "run_results.json").read_text())
    results = [
        NodeResult(
            unique_id=node["unique_id"],
            status=str(node["status"]),
            execution_time=node.get("execution_time") or 0.0,
            message=node.get("message"),
        )
        for node in data.get("results", [])
    ]
    return DbtOutputs(
        success=not any(r.status in FAILED_STATUSES for r in results),
        results=results,
        counts=dict(Counter(r.status for r in results)),
        elapsed_time=data.get("elapsed_time") or 0.0,
        run_results_uri=uris["run_results.json"],
        manifest_uri=uris.get("manifest.json"),
    )
