"""Each AWS task and trigger docstring ends with a YAML flow that validates it."""

import importlib
import inspect
import re

import pytest
import yaml

from sluice.core.registry import task_class, trigger_class
from sluice.plugins.aws._connection import AwsPollingTrigger, AwsTask

PACKAGES = [
    "athena",
    "awslambda",
    "cli",
    "cloudwatch",
    "dynamodb",
    "emr",
    "eventbridge",
    "glue",
    "iam",
    "secretsmanager",
    "sns",
    "sqs",
]


def _task_classes():
    for name in PACKAGES:
        package = importlib.import_module(f"sluice.plugins.aws.{name}")
        for attr in package.__all__:
            value = getattr(package, attr)
            if inspect.isclass(value) and issubclass(
                value, (AwsTask, AwsPollingTrigger)
            ):
                yield pytest.param(value, id=value.type_name)


@pytest.mark.parametrize("cls", list(_task_classes()))
def test_task_docstring_ends_with_yaml_example_that_validates(cls):
    doc = inspect.getdoc(cls)
    match = re.search(r"```yaml\n(.*)```\s*$", doc, re.DOTALL)
    assert match, f"{cls.__name__} docstring does not end with a YAML example"
    flow = yaml.safe_load(match.group(1))
    declared = flow["tasks"] + flow.get("triggers", [])
    tasks = [t for t in declared if t["type"] == cls.type_name]
    assert tasks, f"{cls.__name__} example has no task of type {cls.type_name}"
    for spec in tasks:
        props = {k: v for k, v in spec.items() if k not in {"id", "type"}}
        cls.model_validate(props)
    assert cls in (task_class(cls.type_name), trigger_class(cls.type_name))


@pytest.mark.parametrize("name", PACKAGES)
def test_package_exports_sorted_all(name):
    package = importlib.import_module(f"sluice.plugins.aws.{name}")
    assert package.__all__ == sorted(package.__all__)
