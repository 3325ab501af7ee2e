"""dbt tasks (`dbt.Build`, `dbt.Run`; Kestra's `io.kestra.plugin.dbt.cli.*`).

They run dbt-core as a child process; install it with the ``dbt`` extra and an adapter.
"""

from sluice.plugins.dbt.build import Build
from sluice.plugins.dbt.cli import DbtCli, DbtOutputs, NodeResult
from sluice.plugins.dbt.run import Run

__all__ = ["Build", "DbtCli", "DbtOutputs", "NodeResult", "Run"]
