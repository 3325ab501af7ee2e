"""Script tasks: `script.Commands` (Kestra's `io.kestra.plugin.scripts.shell.Commands`).

`sluice.plugins.script.process` runs child processes for every task that runs a program.
"""

from sluice.plugins.script.commands import Commands, CommandsOutputs

__all__ = ["Commands", "CommandsOutputs"]
