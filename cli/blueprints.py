"""`sluice blueprints list|show|copy`: the AWS blueprints shipped with sluice.

The blueprints are package data (`sluice.blueprints`, one flow per `*.yaml`), read
through `importlib.resources` so they work from an installed wheel as well as from a
checkout. A blueprint's leading comment block documents it: its first line is the
summary `list` prints; a line ``# Deploy with: OTHER.yaml`` names a companion flow that
`copy` writes along (a subflow the blueprint starts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import click

PACKAGE = "sluice.blueprints"
_COMPANION = re.compile(r"^#\s*Deploy with:\s*(\S+?)\.ya?ml\b", re.MULTILINE)


class BlueprintError(click.ClickException):
    """A user error (unknown blueprint, file exists): one line on stderr, exit 2."""

    exit_code = 2


@dataclass(frozen=True)
class Blueprint:
    """One shipped flow file: its name (the file stem), summary and YAML text."""

    name: str
    source: str

    @property
    def header(self) -> list[str]:
        """The leading comment lines, without their `#`."""
        lines = []
        for line in self.source.splitlines():
            if not line.startswith("#"):
                break
            lines.append(line[1:].strip())
        return lines

    @property
    def summary(self) -> str:
        """The one-line description: the first line of the header."""
        return self.header[0] if self.header else ""

    @property
    def companions(self) -> list[str]:
        """Names of the flows this blueprint needs deployed with it."""
        return _COMPANION.findall(self.source)


def all_blueprints() -> list[Blueprint]:
    """Every shipped blueprint, sorted by name."""
    found = [
        Blueprint(entry.name.rsplit(".", 1)[0], entry.read_text(encoding="utf-8"))
        for entry in resources.files(PACKAGE).iterdir()
        if entry.name.endswith((".yaml", ".yml")) and entry.is_file()
    ]
    return sorted(found, key=lambda b: b.name)


def blueprint(name: str) -> Blueprint:
    """The blueprint called `name` (with or without `.yaml`).

    Raises:
        BlueprintError: no such blueprint; the message lists the known names.
    """
    wanted = name.removesuffix(".yaml").removesuffix(".yml")
    every = all_blueprints()
    for found in every:
        if found.name == wanted:
            return found
    known = ", ".join(b.name for b in every)
    raise BlueprintError(f"no blueprint {name!r}; known: {known}")


def copy_blueprint(name: str, folder: str | Path, force: bool = False) -> list[Path]:
    """Write blueprint `name` and its companions into `folder`; return the paths.

    Nothing is written when a target exists and `force` is false.

    Raises:
        BlueprintError: unknown blueprint, or a file exists (without `force`).
    """
    chosen = blueprint(name)
    files = [chosen, *(blueprint(other) for other in chosen.companions)]
    target = Path(folder)
    paths = [target / f"{b.name}.yaml" for b in files]
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise BlueprintError(f"{', '.join(existing)} exists; use --force to overwrite")
    target.mkdir(parents=True, exist_ok=True)
    for path, found in zip(paths, files, strict=True):
        path.write_text(found.source, encoding="utf-8")
    return paths


@click.group("blueprints")
def blueprints() -> None:
    """List, show and copy the AWS blueprints (flows to adapt and deploy)."""


@blueprints.command("list")
def list_command() -> None:
    """Name and one-line description of each blueprint."""
    every = all_blueprints()
    width = max((len(b.name) for b in every), default=0)
    for found in every:
        click.echo(f"{found.name.ljust(width)}  {found.summary}")


@blueprints.command("show")
@click.argument("name")
def show(name: str) -> None:
    """Print blueprint NAME's YAML."""
    click.echo(blueprint(name).source, nl=False)


@blueprints.command("copy")
@click.argument("name")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def copy(name: str, folder: str, force: bool) -> None:
    """Write blueprint NAME (and the flows it needs) into FOLDER, to edit and deploy."""
    for path in copy_blueprint(name, folder, force):
        click.echo(f"wrote {path}")
    click.echo(
        f"edit the header's 'What to change', then: sluice server --flows {folder}"
    )
