"""Every S3 task documents a YAML example that validates, and the package exports."""

import re
import textwrap

import pytest
import yaml

import sluice.plugins.aws.s3 as package
from sluice.core.registry import task_class, trigger_class

TYPES = sorted(
    name for name in package.__all__ if getattr(getattr(package, name), "type_name", "")
)


def test_package_all_is_sorted():
    assert package.__all__ == sorted(package.__all__)


@pytest.mark.parametrize("name", TYPES)
def test_docstring_ends_with_yaml_example_that_validates(name):
    cls = getattr(package, name)
    doc = cls.__doc__ or ""
    blocks = re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)
    assert blocks, f"{name} has no YAML example"
    assert doc.rstrip().endswith("```"), f"{name}'s example is not last"
    flow = yaml.safe_load(textwrap.dedent(blocks[-1]))
    uses = [
        item
        for item in flow.get("tasks", []) + flow.get("triggers", [])
        if item["type"] == cls.type_name
    ]
    assert uses, f"{name}'s example does not use {cls.type_name}"
    for item in uses:
        props = {k: v for k, v in item.items() if k not in {"id", "type"}}
        cls.model_validate(props)


@pytest.mark.parametrize("name", TYPES)
def test_types_are_registered_with_kestra_names(name):
    cls = getattr(package, name)
    lookup = trigger_class if name == "Trigger" else task_class

    assert lookup(cls.type_name) is cls
    assert lookup(f"io.kestra.plugin.{cls.type_name}") is cls


@pytest.mark.parametrize("name", TYPES)
def test_json_schema_uses_kestra_property_names(name):
    schema = getattr(package, name).model_json_schema(by_alias=True)

    assert "bucket" in schema["properties"] or "from" in schema["properties"]
    assert "endpointOverride" in schema["properties"]
    assert not any("_" in prop for prop in schema["properties"])
