"""`dbt.Run`: run `dbt run` (models only, no tests)."""

from __future__ import annotations

from typing import ClassVar

from sluice.core.registry import register_task
from sluice.plugins.dbt.cli import DbtCli


@register_task
class Run(DbtCli):
    """Run ``dbt run`` on a dbt project: build the selected models, without tests.

    Same properties and outputs as `dbt.Build`; a model that errors fails the task,
    naming the model and dbt's message.

    Example:
        ```yaml
        id: dbt_run
        namespace: company.analytics
        tasks:
          - id: run_staging
            type: dbt.Run
            projectDir: /srv/dbt/jaffle_shop
            profilesDir: /srv/dbt/profiles
            target: prod
            threads: 4
            select:
              - "tag:staging"
            exclude:
              - "tag:slow"
        ```
    """

    type_name: ClassVar[str] = "dbt.Run"
    aliases: ClassVar[tuple[str, ...]] = ("io.kestra.plugin.dbt.cli.Run",)
    command: ClassVar[str] = "run"
