"""`aws.cli.AwsCLI`: run `aws …` commands with the task's AWS connection."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from sluice.core.errors import TaskError
from sluice.core.events import JsonValue
from sluice.core.plugin import REDACTED, RunContext, TaskOutputs
from sluice.core.registry import register_task
from sluice.plugins.aws._connection import AwsTask, resolved_credentials

STDOUT_OUTPUT_LIMIT = 256 * 1024
"""A last stdout larger than this (bytes) goes to internal storage (`uri`) instead."""
_STDERR_IN_ERROR = 2000


class AwsCliOutputs(TaskOutputs):
    """The last command's stdout (`json` too when it parses), or its file if large."""

    exit_code: int
    stdout: str | None = None
    json_: JsonValue = Field(default=None, alias="json")
    uri: str | None = None


@register_task
class AwsCLI(AwsTask):
    """Run `aws` CLI commands, one after the other, with this task's credentials.

    Each command is split like a shell would (quotes honoured) but run without a
    shell, so a rendered value cannot inject another command; it must start with
    `aws`. The task's resolved credentials (an assumed role included), region and
    `endpointOverride` reach the CLI through its environment (and `--endpoint-url`);
    the worker's own `AWS_*` variables do not. A command exiting non-zero fails the
    task with its stderr, secrets masked. The last command's stdout is the `stdout`
    output, parsed into `json` when it is JSON (the default `outputFormat`).

    Example:
        ```yaml
        id: aws_cli
        namespace: company.team
        tasks:
          - id: cli
            type: aws.cli.AwsCLI
            region: us-east-1
            commands:
              - aws sqs create-queue --queue-name orders
              - aws sqs list-queues --queue-name-prefix orders
        ```
    """

    type_name: ClassVar[str] = "aws.cli.AwsCLI"
    commands: list[str] = Field(min_length=1)
    env: dict[str, str] = Field(default_factory=dict)
    output_format: Literal["json", "text", "table", "yaml"] = "json"

    @field_validator("output_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value  # Kestra: JSON

    @field_validator("commands")
    @classmethod
    def _aws_only(cls, commands: list[str]) -> list[str]:
        for command in commands:
            argv = shlex.split(command)
            if not argv or argv[0] != "aws":
                raise ValueError(f"commands must start with `aws`: {command!r}")
        return commands

    async def run(self, ctx: RunContext) -> AwsCliOutputs:
        """Run every command; fail on the first that exits non-zero."""
        executable = shutil.which("aws")
        if executable is None:
            raise TaskError("the `aws` CLI is not on PATH", error_type="AwsCliMissing")
        env = await self._environment(ctx)
        secrets = [*ctx.secret_values, *_secret_values(env)]
        stdout = b""
        for command in self.commands:
            shown = _mask(command, secrets)
            ctx.info(f"running: {shown}")
            argv = self._argv(executable, command)
            code, stdout, stderr = await _run(argv, env)
            text = _mask(stderr.decode("utf-8", errors="replace"), secrets)
            for line in text.splitlines():
                ctx.info(f"[stderr] {line}")
            if code != 0:
                raise TaskError(
                    f"`{shown}` exited {code}: {text[-_STDERR_IN_ERROR:].strip()}",
                    error_type="AwsCliError",
                )
        return await self._outputs(
            ctx, _mask(stdout.decode("utf-8", "replace"), secrets)
        )

    def _argv(self, executable: str, command: str) -> list[str]:
        args = shlex.split(command)[1:]
        if self.endpoint_override and not any(
            a.startswith("--endpoint-url") for a in args
        ):
            # The CLI's SQS customisation ignores AWS_ENDPOINT_URL: pass it explicitly.
            args = ["--endpoint-url", self.endpoint_override, *args]
        return [executable, *args]

    async def _environment(self, ctx: RunContext) -> dict[str, str]:
        # The worker's own AWS settings must not leak into a task's commands.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.env)
        creds = await asyncio.to_thread(resolved_credentials, self)
        env.update(creds)
        for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            if creds.get(name):
                ctx.mask(creds[name])
        if self.region:
            env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = self.region
        if self.endpoint_override:
            env["AWS_ENDPOINT_URL"] = self.endpoint_override
        env["AWS_DEFAULT_OUTPUT"] = self.output_format
        env["AWS_PAGER"] = ""  # CLI v2 would otherwise wait on `less`
        return env

    async def _outputs(self, ctx: RunContext, stdout: str) -> AwsCliOutputs:
        if len(stdout.encode()) > STDOUT_OUTPUT_LIMIT:
            path = ctx.storage_path("stdout.txt")
            uri = await asyncio.to_thread(ctx.storage.put_bytes, path, stdout.encode())
            return AwsCliOutputs(exit_code=0, uri=uri)
        parsed: JsonValue = None
        if stdout.strip():
            try:
                parsed = json.loads(stdout)
            except ValueError:
                parsed = None
        return AwsCliOutputs(exit_code=0, stdout=stdout, json_=parsed)


async def _run(argv: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        stdout, stderr = await process.communicate()
    except asyncio.CancelledError:
        # A killed task run must not leave the CLI running on the worker.
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, stdout, stderr


def _secret_values(env: dict[str, str]) -> list[str]:
    return [
        env[k] for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if env.get(k)
    ]


def _mask(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text
