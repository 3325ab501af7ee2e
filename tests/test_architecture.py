"""The import layers hold (import-linter contracts) and the installed layout is right."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_layers_are_kept():
    tool = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert tool, "import-linter is a dev dependency: pip install -e '.[dev]'"
    result = subprocess.run(
        [tool, "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd="/",
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_packages_install_under_sluice_and_no_bare_core_or_cli():
    for name in (
        "sluice.core",
        "sluice.cli",
        "sluice.eventstore",
        "sluice.plugins.aws.s3",
        "sluice.blueprints",
    ):
        assert importlib.util.find_spec(name) is not None, name
    here = os.getcwd()
    try:
        os.chdir("/")
        code = (
            "import importlib.util as u; print(u.find_spec('core'), u.find_spec('cli'))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        ).stdout
    finally:
        os.chdir(here)
    assert out.strip() == "None None"
