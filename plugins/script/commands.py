"""`script.Commands`: run shell commands in a fresh working directory."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, TypeVar

from pydantic import Field, field_validator

from sluice.core.errors import StorageError, TaskError
from sluice.core.plugin import RunContext, Task, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.script.process import child_env, run_logged

STORAGE_SCHEME = "storage://"
_F = TypeVar("_F")
_R = TypeVar("_R")
_OUTPUTS_LINE = re.compile(r"^::(\{.*\})::$")


class CommandsOutputs(TaskOutputs):
    """`exitCode`, `vars` (from ``::{"outputs": {...}}::`` lines), `outputFiles`."""

    exit_code: int
    vars: dict[str, Any] = Field(default_factory=dict)
    output_files: dict[str, str] = Field(default_factory=dict)


@register_task
class Commands(Task):
    r"""Run shell commands, one script, in a fresh temporary working directory.

    The commands are joined into one script run by `interpreter` (``/bin/sh -c``), with
    ``set -e`` first unless `failFast` is false. `inputFiles` are written into the
    working directory first (inline text, or a ``storage://`` URI to copy); files
    matching `outputFiles` globs are uploaded afterwards and listed in the
    `outputFiles` output. A stdout line ``::{"outputs": {"key": "value"}}::`` adds
    to the `vars` output (Kestra's convention). Every other line is logged (stdout
    at INFO, stderr at WARNING) with secret values masked. The child inherits the
    worker's environment without ``SECRET_*`` variables, plus `env`. A non-zero exit
    fails the task with the exit code and the last lines of stderr. `containerImage`
    and `taskRunner` are accepted so Kestra flows read unchanged, but commands always
    run as local processes.

    Example:
        ```yaml
        id: shell
        namespace: company.team
        tasks:
          - id: count_lines
            type: script.Commands
            inputFiles:
              data.csv: |
                id,name
                1,a
                2,b
            commands:
              - wc -l < data.csv > count.txt
              - 'echo "::{\"outputs\": {\"lines\": $(cat count.txt)}}::"'
            outputFiles:
              - count.txt
          - id: show
            type: log.Log
            message: "{{ outputs.count_lines.vars.lines }} lines"
        ```
    """

    type_name: ClassVar[str] = "script.Commands"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.scripts.shell.Commands",)

    commands: list[str] = Field(min_length=1)
    before_commands: list[str] = Field(default_factory=list)
    interpreter: list[str] = Field(default_factory=lambda: ["/bin/sh", "-c"])
    fail_fast: bool = True
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    input_files: dict[str, str] = Field(default_factory=dict, repr=False)
    output_files: list[str] = Field(default_factory=list)
    container_image: str | None = None
    task_runner: dict[str, Any] | None = None

    @field_validator("input_files")
    @classmethod
    def _relative_names(cls, files: dict[str, str]) -> dict[str, str]:
        for name in files:
            _check_relative(name, "inputFiles name")
        return files

    @field_validator("output_files")
    @classmethod
    def _relative_globs(cls, globs: list[str]) -> list[str]:
        for pattern in globs:
            _check_relative(pattern, "outputFiles pattern")
        return globs

    def script(self) -> str:
        """The one script the interpreter runs."""
        lines = [*self.before_commands, *self.commands]
        return "\n".join(["set -e", *lines] if self.fail_fast else lines)

    async def run(self, ctx: RunContext) -> CommandsOutputs:
        """Prepare the working directory, run the script, collect outputs."""
        if self.container_image or self.task_runner:
            ctx.warning(
                "containerImage/taskRunner ignored: commands run as local processes"
            )
        workdir = await asyncio.to_thread(tempfile.mkdtemp, prefix="sluice-script-")
        try:
            await _files_step(
                "input files", _write_input_files, ctx, workdir, self.input_files
            )
            found: dict[str, Any] = {}
            await self._execute(ctx, workdir, found)
            files = await _files_step(
                "output files", _upload_output_files, ctx, workdir, self.output_files
            )
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
        return CommandsOutputs(exit_code=0, vars=found, output_files=files)

    async def _execute(
        self, ctx: RunContext, workdir: str, found: dict[str, Any]
    ) -> None:
        env = child_env({"WORKING_DIR": workdir, **self.env})
        try:
            result = await run_logged(
                [*self.interpreter, self.script()],
                ctx,
                cwd=workdir,
                env=env,
                on_stdout=lambda line: _read_outputs_line(line, found),
            )
        except OSError as err:
            msg = f"cannot start {self.interpreter[0]}: {err}"
            raise TaskError(msg, retryable=False, error_type="ScriptError") from err
        if result.exit_code != 0:
            tail = "\n".join(result.stderr_tail[-10:]) or "(no stderr)"
            msg = f"commands {result.describe_exit()}; last stderr lines:\n{tail}"
            raise TaskError(msg, retryable=True, error_type="ExitCode")


async def _files_step(
    what: str,
    step: Callable[[RunContext, str, _F], _R],
    ctx: RunContext,
    workdir: str,
    files: _F,
) -> _R:
    """Run a file step in a thread; storage and disk failures become TaskErrors."""
    try:
        return await asyncio.to_thread(step, ctx, workdir, files)
    except (StorageError, OSError) as err:
        raise TaskError(f"{what}: {err}", retryable=False) from err


def _check_relative(name: str, what: str) -> None:
    """Refuse a path that is absolute or climbs out of the working directory."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"{what} {name!r} must be relative, inside the working dir")


def _read_outputs_line(line: str, found: dict[str, Any]) -> bool:
    """Merge a ``::{"outputs": {...}}::`` line into `found`; True if it was one."""
    match = _OUTPUTS_LINE.match(line.strip())
    if not match:
        return False
    try:
        message = json.loads(match.group(1))
    except json.JSONDecodeError:
        return False
    outputs = message.get("outputs") if isinstance(message, dict) else None
    if isinstance(outputs, dict):
        found.update(outputs)
    return True


def _write_input_files(ctx: RunContext, workdir: str, files: dict[str, str]) -> None:
    """Write each input file: inline content, or a copy of a stored file."""
    for name, content in files.items():
        dest = Path(workdir, name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith(STORAGE_SCHEME):
            ctx.storage.get_to_file(content, str(dest))
        else:
            dest.write_text(content)


def _upload_output_files(
    ctx: RunContext, workdir: str, patterns: list[str]
) -> dict[str, str]:
    """Upload the files matching `patterns`; their URIs by path relative to workdir."""
    root = Path(workdir)
    uris: dict[str, str] = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                name = path.relative_to(root).as_posix()
                uris[name] = ctx.storage.put_file(ctx.storage_path(name), str(path))
    return uris
