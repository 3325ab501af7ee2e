"""`dbt.Build`: run `dbt build` (models, tests, seeds and snapshots, in DAG order)."""

from __future__ import annotations

from typing import ClassVar

from sluice.core.registry import register_task
from sluice.plugins.dbt.cli import DbtCli


@register_task
class Build(DbtCli):
    """Run ``dbt build`` on a dbt project and report each node's result.

    `profiles` is the text of a profiles.yml (or the same as a mapping), written to a
    temporary folder; otherwise `profilesDir` names the folder, or dbt looks in the
    project directory, then ``~/.dbt``. `select`, `exclude`, `target`, `vars`,
    `threads`, `fullRefresh` and `failFast` map to dbt's flags. Outputs: `results`
    (``uniqueId``, ``status``, ``executionTime``, ``message`` per node), `success`,
    `counts` by status, and the stored `runResultsUri` and `manifestUri`. A node that
    errors or a test that fails fails the task, naming the node and dbt's message.

    Example:
        ```yaml
        id: dbt_build
        namespace: company.analytics
        tasks:
          - id: build
            type: dbt.Build
            projectDir: /srv/dbt/jaffle_shop
            profiles: |
              jaffle_shop:
                target: dev
                outputs:
                  dev:
                    type: duckdb
                    path: /srv/dbt/jaffle_shop.duckdb
                    threads: 1
            vars:
              suffix: "_v2"
            select:
              - "+upper_names"
        ```
    """

    type_name: ClassVar[str] = "dbt.Build"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.dbt.cli.Build",)
    command: ClassVar[str] = "build"
