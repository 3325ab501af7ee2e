"""Maps each top-level folder to a subpackage of the `sluice` namespace.

`core/` installs as `sluice.core`, `plugins/aws/s3/` as `sluice.plugins.aws.s3`, and so
on: every folder with an `__init__.py` under the roots below is found, so adding a
package needs no edit here. Nothing is installed as a bare `core` or `cli`.
"""

import os

from setuptools import setup

ROOTS = ["api", "blueprints", "cli", "core", "eventstore", "plugins", "projections", "storage"]


def _packages() -> list[str]:
    found = []
    for root in ROOTS:
        for dirpath, _dirs, files in os.walk(root):
            if "__init__.py" in files and "__pycache__" not in dirpath:
                found.append("sluice." + dirpath.replace(os.sep, "."))
    return sorted(found)


setup(
    packages=_packages(),
    package_dir={f"sluice.{root}": root for root in ROOTS if os.path.isdir(root)},
)
