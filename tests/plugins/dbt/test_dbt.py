import itertools
import json
import stat
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from sluice.core.errors import TaskError
from sluice.core.registry import task_class
from sluice.plugins.dbt import Build, Run
from tests.fixtures_http import example_tasks
from tests.plugin_context import make_run_context

# Tests that start the real dbt are marked slow: each start costs about 2-3 s.
needs_dbt = pytest.mark.skipif(
    not Path(sys.executable).with_name("dbt").exists(),
    reason="dbt-core is not installed (the `dbt` extra)",
)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def project(tmp_path) -> Path:
    """A tiny dbt project: two models and one test, on DuckDB."""
    root = tmp_path / "tiny"
    _write(
        root,
        {
            "dbt_project.yml": """\
                name: tiny
                version: "1.0"
                profile: tiny
                models:
                  tiny:
                    +materialized: table
                """,
            "models/base.sql": "select 1 as id, 'a' as name union all select 2, 'b'",
            "models/upper_names.sql": """\
                select id, upper(name) || '{{ var("suffix", "") }}' as name
                from {{ ref('base') }}
                """,
            "models/schema.yml": """\
                version: 2
                models:
                  - name: upper_names
                    columns:
                      - name: id
                        data_tests: [not_null]
                """,
        },
    )
    return root


def _profiles(tmp_path: Path) -> str:
    return textwrap.dedent(f"""\
        tiny:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: {tmp_path / "tiny.duckdb"}
              threads: 1
        """)


@pytest.mark.slow
@needs_dbt
async def test_build_docstring_example_builds_models_and_tests(project, tmp_path):
    import duckdb

    [props] = example_tasks(
        Build, projectDir=str(project), profiles=_profiles(tmp_path)
    )
    props = {k: v for k, v in props.items() if k not in ("id", "type")}
    ctx = make_run_context(tmp_path)

    out = await Build.model_validate(props).run(ctx)

    assert out.success
    statuses = {r.unique_id.rsplit(".", 1)[0]: r.status for r in out.results}
    assert statuses == {
        "model.tiny": "success",  # base and upper_names
        "test.tiny.not_null_upper_names_id": "pass",
    }
    assert out.counts == {"success": 2, "pass": 1}
    stored = json.loads(ctx.storage.get_bytes(out.run_results_uri))
    assert len(stored["results"]) == 3
    assert ctx.storage.exists(out.manifest_uri)
    assert "Completed successfully" in ctx.logger.text()
    with duckdb.connect(str(tmp_path / "tiny.duckdb"), read_only=True) as db:
        rows = db.execute("select name from upper_names order by id").fetchall()
    assert rows == [("A_v2",), ("B_v2",)]
    assert not (project / "target").exists()


@pytest.mark.slow
@needs_dbt
async def test_run_fails_naming_the_failing_model(project, tmp_path):
    _write(project, {"models/broken.sql": "select * from nonexistent_table"})
    task = Run.model_validate(
        {
            "projectDir": str(project),
            "profiles": _profiles(tmp_path),
            "select": "base broken",
        }
    )
    ctx = make_run_context(tmp_path)

    with pytest.raises(TaskError) as caught:
        await task.run(ctx)

    message = caught.value.message
    assert "1 of 2 nodes failed" in message
    assert "model.tiny.broken (error)" in message
    assert "nonexistent_table" in message
    assert caught.value.retryable
    uri = message.split("run_results: ", 1)[1].split(")", 1)[0]
    statuses = {
        r["unique_id"]: r["status"]
        for r in json.loads(ctx.storage.get_bytes(uri))["results"]
    }
    assert statuses == {"model.tiny.base": "success", "model.tiny.broken": "error"}


@pytest.mark.slow
@needs_dbt
async def test_build_fails_with_dbt_output_when_the_profile_is_missing(
    project, tmp_path
):
    empty = tmp_path / "no-profiles"
    empty.mkdir()
    task = Build.model_validate({"projectDir": str(project), "profilesDir": str(empty)})

    with pytest.raises(TaskError) as caught:
        await task.run(make_run_context(tmp_path))

    assert not caught.value.retryable
    assert "exited with code" in caught.value.message
    assert "tiny" in caught.value.message  # dbt names the profile it could not find


def _fake_dbt(tmp_path: Path, results: list[dict], exit_code: int = 0) -> Path:
    """A stand-in dbt that records its arguments and writes run_results.json."""
    script = tmp_path / "fake-dbt"
    script.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        printf '%s\\n' "$@" > {tmp_path}/args.txt
        echo "fake dbt $1"
        while [ $# -gt 0 ]; do
          if [ "$1" = --target-path ]; then target="$2"; fi
          shift
        done
        mkdir -p "$target"
        cat > "$target/run_results.json" <<'JSON'
        {json.dumps({"results": results, "elapsed_time": 1.5})}
        JSON
        exit {exit_code}
        """)
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


async def test_run_passes_properties_as_dbt_flags(project, tmp_path):
    node = {"unique_id": "model.tiny.base", "status": "success", "message": "OK"}
    fake = _fake_dbt(tmp_path, [node | {"execution_time": 0.25}])
    [props] = example_tasks(Run, projectDir=str(project), dbtPath=str(fake))
    props = {k: v for k, v in props.items() if k not in ("id", "type")}
    props["vars"] = {"day": "2025-01-01"}
    ctx = make_run_context(tmp_path)

    out = await Run.model_validate(props).run(ctx)

    args = (tmp_path / "args.txt").read_text().splitlines()
    assert args[:3] == ["run", "--project-dir", str(project)]
    pairs = dict(itertools.pairwise(args))
    assert pairs["--profiles-dir"] == "/srv/dbt/profiles"
    assert pairs["--target"] == "prod"
    assert pairs["--threads"] == "4"
    assert pairs["--select"] == "tag:staging"
    assert pairs["--exclude"] == "tag:slow"
    assert json.loads(pairs["--vars"]) == {"day": "2025-01-01"}
    assert [r.model_dump(by_alias=True) for r in out.results] == [
        {
            "uniqueId": "model.tiny.base",
            "status": "success",
            "executionTime": 0.25,
            "message": "OK",
        }
    ]
    assert (out.success, out.elapsed_time, out.manifest_uri) == (True, 1.5, None)
    assert ctx.logger.messages()[-1] == "fake dbt run"


async def test_build_fails_on_a_failed_test_even_when_dbt_exits_zero(project, tmp_path):
    nodes = [
        {"unique_id": "model.tiny.base", "status": "success"},
        {"unique_id": "test.tiny.t1", "status": "fail", "message": "Got 3 results"},
        {"unique_id": "test.tiny.t2", "status": "warn", "message": "Got 1 result"},
    ]
    fake = _fake_dbt(tmp_path, nodes)
    task = Build.model_validate({"projectDir": str(project), "dbtPath": str(fake)})

    with pytest.raises(TaskError) as caught:
        await task.run(make_run_context(tmp_path))

    assert "1 of 3 nodes failed" in caught.value.message
    assert "test.tiny.t1 (fail): Got 3 results" in caught.value.message
    assert "t2" not in caught.value.message


async def test_dbt_fails_fast_when_the_project_dir_has_no_project(tmp_path):
    task = Build.model_validate({"projectDir": str(tmp_path)})

    with pytest.raises(TaskError, match=r"has no dbt_project\.yml"):
        await task.run(make_run_context(tmp_path))


def test_dbt_refuses_profiles_and_profiles_dir_together():
    with pytest.raises(ValidationError, match="not both"):
        Build.model_validate(
            {"projectDir": "/p", "profiles": "x: {}", "profilesDir": "/q"}
        )


def test_dbt_tasks_are_registered_under_kestra_names():
    assert task_class("io.kestra.plugin.dbt.cli.Build") is Build
    assert task_class("io.kestra.plugin.dbt.cli.Run") is Run


def test_dbt_package_exports_sorted_all():
    import sluice.plugins.dbt as package

    assert package.__all__ == sorted(package.__all__)
