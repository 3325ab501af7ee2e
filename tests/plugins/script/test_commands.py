import asyncio
import logging
import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from sluice.core.errors import TaskError
from sluice.core.registry import task_class
from sluice.plugins.script import Commands
from tests.fixtures_http import example_tasks
from tests.plugin_context import make_run_context


def _commands(*lines: str, **props) -> Commands:
    return Commands.model_validate({"commands": list(lines), **props})


def _alive(pid: int, within: float = 2.0) -> bool:
    """Whether `pid` still runs after `within` seconds (signals land asynchronously)."""
    deadline = time.monotonic() + within
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _running(pid)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # gone, maybe while reading
        return False
    return state != "Z"  # a zombie waits for a reaper but no longer runs


async def test_commands_log_stdout_as_info_and_stderr_as_warning(tmp_path):
    ctx = make_run_context(tmp_path)
    task = _commands("echo to-out", "echo to-err >&2", env={"GREETING": "hi"})

    out = await task.run(ctx)

    assert out.exit_code == 0
    assert ctx.logger.messages(logging.INFO) == ["to-out"]
    assert ctx.logger.warnings == ["to-err"]


async def test_commands_see_env_in_a_fresh_working_dir_that_is_removed(tmp_path):
    ctx = make_run_context(tmp_path)
    task = _commands('echo "$GREETING from $(pwd)"', env={"GREETING": "hi"})

    await task.run(ctx)
    await task.run(ctx)

    first, second = ctx.logger.messages(logging.INFO)
    assert first.startswith("hi from /")
    assert first != second
    assert not Path(first.removeprefix("hi from ")).exists()


async def test_commands_turn_outputs_lines_into_vars(tmp_path):
    ctx = make_run_context(tmp_path)
    task = _commands(
        """echo '::{"outputs": {"rows": 3, "name": "a"}}::'""",
        "echo visible",
        """echo '::{"outputs": {"name": "b"}}::'""",
    )

    out = await task.run(ctx)

    assert out.vars == {"rows": 3, "name": "b"}
    assert ctx.logger.messages() == ["visible"]


async def test_commands_read_input_files_and_upload_output_files(tmp_path):
    ctx = make_run_context(tmp_path)
    stored = ctx.storage.put_bytes("inputs/data.csv", b"id\n1\n2\n")
    task = _commands(
        "mkdir -p out",
        "cat data.csv > out/copy.csv",
        "cat conf/settings.txt > out/settings.txt",
        inputFiles={"data.csv": stored, "conf/settings.txt": "mode=fast"},
        outputFiles=["out/*.csv", "out/settings.txt", "missing-*.txt"],
    )

    out = await task.run(ctx)

    assert sorted(out.output_files) == ["out/copy.csv", "out/settings.txt"]
    assert ctx.storage.get_bytes(out.output_files["out/copy.csv"]) == b"id\n1\n2\n"
    assert ctx.storage.get_bytes(out.output_files["out/settings.txt"]) == b"mode=fast"


async def test_commands_fail_with_exit_code_and_last_stderr_lines(tmp_path):
    ctx = make_run_context(tmp_path)
    task = _commands(
        "echo first problem >&2", "echo bad thing >&2; exit 3", "echo never"
    )

    with pytest.raises(TaskError) as caught:
        await task.run(ctx)

    assert "exited with code 3" in caught.value.message
    assert "first problem\nbad thing" in caught.value.message
    assert "never" not in ctx.logger.text()


async def test_commands_stop_at_the_first_failing_command_unless_fail_fast_is_off(
    tmp_path,
):
    ctx = make_run_context(tmp_path)

    with pytest.raises(TaskError):
        await _commands("false", "echo after").run(ctx)
    await _commands("false", "echo after", failFast=False).run(ctx)

    assert ctx.logger.messages() == ["after"]


async def test_commands_mask_secret_values_in_logged_lines(tmp_path):
    ctx = make_run_context(tmp_path, secret_values=["hunter2"])
    task = _commands("echo password=hunter2", "echo hunter2 >&2", "exit 1")

    with pytest.raises(TaskError) as caught:
        await task.run(ctx)

    assert ctx.logger.messages() == ["password=******", "******"]
    assert "hunter2" not in caught.value.message


async def test_commands_do_not_inherit_secret_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_DB_PASSWORD", "s3cret")
    monkeypatch.setenv("PLAIN_SETTING", "visible")
    ctx = make_run_context(tmp_path)

    await _commands('echo "${SECRET_DB_PASSWORD:-unset} $PLAIN_SETTING"').run(ctx)

    assert ctx.logger.messages() == ["unset visible"]


async def test_commands_cancelled_kill_the_whole_process_group(tmp_path):
    ctx = make_run_context(tmp_path)
    task = _commands("sleep 30 &", "echo $$ $!", "wait")

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(task.run(ctx), timeout=0.5)

    pids = [int(p) for p in ctx.logger.messages()[0].split()]
    assert not any(_alive(pid) for pid in pids)


async def test_commands_end_when_background_children_keep_the_pipes(tmp_path):
    ctx = make_run_context(tmp_path)
    task = _commands("sleep 30 &", "echo $!")

    out = await asyncio.wait_for(task.run(ctx), timeout=5)

    assert out.exit_code == 0
    assert not _alive(int(ctx.logger.messages()[0]))


async def test_commands_fail_when_the_interpreter_is_missing(tmp_path):
    task = _commands("echo x", interpreter=["/nonexistent/sh", "-c"])

    with pytest.raises(TaskError, match="cannot start /nonexistent/sh"):
        await task.run(make_run_context(tmp_path))


@pytest.mark.parametrize(
    "props",
    [
        {"inputFiles": {"../escape.txt": "x"}},
        {"inputFiles": {"/etc/x": "x"}},
        {"outputFiles": ["../*.txt"]},
        {"commands": []},
    ],
)
def test_commands_refuse_paths_outside_the_working_dir(props):
    with pytest.raises(ValidationError):
        Commands.model_validate({"commands": ["true"], **props})


async def test_commands_fail_when_an_input_file_uri_is_missing(tmp_path):
    task = _commands("true", inputFiles={"a.txt": "storage://nowhere/a.txt"})

    with pytest.raises(TaskError, match="input files") as caught:
        await task.run(make_run_context(tmp_path))

    assert not caught.value.retryable


def test_commands_are_registered_under_kestra_names():
    assert task_class("io.kestra.plugin.scripts.shell.Commands") is Commands


async def test_commands_docstring_example_runs(tmp_path):
    [props] = example_tasks(Commands)
    props = {k: v for k, v in props.items() if k not in ("id", "type")}
    ctx = make_run_context(tmp_path)

    out = await Commands.model_validate(props).run(ctx)

    assert out.vars == {"lines": 3}
    assert ctx.storage.get_bytes(out.output_files["count.txt"]).strip() == b"3"


def test_commands_pid_helper_sees_this_process():
    assert _alive(os.getpid(), within=0)


def test_script_package_exports_sorted_all():
    import sluice.plugins.script as package

    assert package.__all__ == sorted(package.__all__)
