"""Run a child process without blocking the loop, logging every output line masked.

Shared by the tasks that run programs (`script.Commands`, `dbt.*`). The child gets its
own process group, so cancelling the task (the engine's `timeout`, a kill) stops the
child and everything it started, and so does a child leaving background processes
behind when it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sluice.core.plugin import REDACTED, RunContext

SECRET_ENV_PREFIX = "SECRET_"  # noqa: S105 (a name prefix, not a password)
"""Worker variables holding secrets (`secret()` values); children never inherit them."""

_CHUNK = 64 * 1024
_MAX_LOGGED_LINE = 16 * 1024  # longer lines are cut in the log (outputs see them whole)
_DRAIN_GRACE = 1.0  # seconds to read what is left once the child exited
_KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL

LineHandler = Callable[[str], bool]
"""Sees each stdout line first; returning True keeps the line out of the log."""


@dataclass
class ProcessResult:
    """How a child ended: its exit code and the last lines it wrote (masked)."""

    exit_code: int
    stdout_tail: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)

    def describe_exit(self) -> str:
        """``exited with code 2`` or ``was killed by signal 9``."""
        if self.exit_code < 0:
            return f"was killed by signal {-self.exit_code}"
        return f"exited with code {self.exit_code}"


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment without secret variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIX)}
    env.update(extra)
    return env


def mask_secrets(text: str, secrets: Sequence[str]) -> str:
    """`text` with every known secret value replaced by the redaction mark."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


async def run_logged(
    argv: Sequence[str],
    ctx: RunContext,
    *,
    cwd: str,
    env: Mapping[str, str],
    on_stdout: LineHandler | None = None,
    tail: int = 20,
) -> ProcessResult:
    """Run `argv`, log stdout at INFO and stderr at WARNING, and wait for it to end.

    Raises:
        OSError: the program cannot be started (missing, not executable).
    """
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _ExitAwareProtocol(loop),
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, to stop it and its children
    )
    pid = transport.get_pid()
    stdout, stderr = protocol.stdout, protocol.stderr
    assert stdout is not None  # both are pipes, as asked above
    assert stderr is not None
    out_tail: deque[str] = deque(maxlen=tail)
    err_tail: deque[str] = deque(maxlen=tail)

    def on_out(line: str) -> None:
        if on_stdout is None or not on_stdout(line):
            _log(ctx, ctx.info, line, out_tail)

    def on_err(line: str) -> None:
        _log(ctx, ctx.warning, line, err_tail)

    readers = [
        asyncio.create_task(_read_lines(stdout, on_out)),
        asyncio.create_task(_read_lines(stderr, on_err)),
    ]
    try:
        await protocol.exited
        # Background children may hold the pipes open: read what is there, then stop.
        _done, pending = await asyncio.wait(readers, timeout=_DRAIN_GRACE)
        if pending:
            _signal_group(pid, signal.SIGKILL)
    finally:
        if transport.get_returncode() is None:
            await _stop(pid, protocol.exited)
            _signal_group(pid, signal.SIGKILL)  # children that outlived the leader
        # Once the group is gone the pipes reach EOF and the readers end.
        _done, pending = await asyncio.wait(readers, timeout=_DRAIN_GRACE)
        for reader in pending:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        transport.close()
    code = transport.get_returncode()
    return ProcessResult(
        exit_code=-1 if code is None else code,
        stdout_tail=list(out_tail),
        stderr_tail=list(err_tail),
    )


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's stream protocol, plus a future done when the child exits.

    `Process.wait()` returns only once the pipes are closed too, which a background
    grandchild can put off forever; the child's own exit is what ends a run.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=_CHUNK, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


def _log(
    ctx: RunContext, sink: Callable[[str], None], line: str, tail: deque[str]
) -> None:
    masked = mask_secrets(line, ctx.secret_values)
    if len(masked) > _MAX_LOGGED_LINE:
        masked = masked[:_MAX_LOGGED_LINE] + " …(cut)"
    tail.append(masked)
    sink(masked)


async def _read_lines(
    stream: asyncio.StreamReader, handle: Callable[[str], None]
) -> None:
    # Chunks, not readline(): a line longer than the stream limit must not end the read.
    pending = b""
    while chunk := await stream.read(_CHUNK):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            handle(raw.rstrip(b"\r").decode("utf-8", errors="replace"))
    if pending:
        handle(pending.rstrip(b"\r").decode("utf-8", errors="replace"))


async def _stop(pid: int, exited: asyncio.Future[None]) -> None:
    """SIGTERM the child's group, then SIGKILL it if it has not ended in time."""
    _signal_group(pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(exited), _KILL_GRACE)
    except TimeoutError:
        _signal_group(pid, signal.SIGKILL)
        await exited


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
