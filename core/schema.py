"""The JSON Schema of flow files, built from the registered task and trigger models."""

from __future__ import annotations

from typing import Any

from sluice.core import registry
from sluice.core.flow import FLOWABLE_TYPES, Concurrency, FlowOutput, RetryPolicy
from sluice.core.inputs import InputSpec

_COMMON: dict[str, Any] = {
    "id": {"type": "string"},
    "description": {"type": "string"},
    "retry": {"$ref": "#/$defs/RetryPolicy"},
    "timeout": {"type": "string", "description": "ISO 8601 duration of one attempt"},
    "runIf": {"type": ["string", "boolean"]},
    "allowFailure": {"type": "boolean"},
    "allowWarning": {"type": "boolean"},
    "disabled": {"type": "boolean"},
    "logLevel": {"type": "string"},
}


def _task_schema(type_names: list[str], model_schema: dict[str, Any]) -> dict[str, Any]:
    props = dict(model_schema.get("properties", {}))
    props.update(_COMMON)
    props["type"] = {"enum": type_names}
    return {
        "type": "object",
        "properties": props,
        "required": ["id", "type", *model_schema.get("required", [])],
    }


def flow_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for flow YAML files."""
    defs: dict[str, Any] = {
        "RetryPolicy": RetryPolicy.model_json_schema(by_alias=True),
        "Input": InputSpec.model_json_schema(by_alias=True),
        "Concurrency": Concurrency.model_json_schema(by_alias=True),
        "Output": FlowOutput.model_json_schema(by_alias=True),
    }
    variants = []
    for type_name in registry.task_types():
        cls = registry.task_class(type_name)
        assert cls is not None
        names = [type_name, f"io.kestra.plugin.{type_name}", *cls.aliases]
        variants.append(_task_schema(names, cls.model_json_schema(by_alias=True)))
    task_list = {"type": "array", "items": {"$ref": "#/$defs/Task"}}
    flowable_names = sorted(FLOWABLE_TYPES)
    variants.append(
        {
            "type": "object",
            "properties": {
                **_COMMON,
                "type": {"enum": flowable_names},
                "tasks": task_list,
                "then": task_list,
                "else": task_list,
                "errors": task_list,
                "finally": task_list,
                "defaults": task_list,
                "cases": {"type": "object", "additionalProperties": task_list},
            },
            "required": ["id", "type"],
        }
    )
    defs["Task"] = {"anyOf": variants}
    triggers = []
    for type_name in registry.trigger_types():
        cls = registry.trigger_class(type_name)
        assert cls is not None
        schema = cls.model_json_schema(by_alias=True)
        props = {
            **schema.get("properties", {}),
            "id": {"type": "string"},
            "type": {
                "enum": [type_name, f"io.kestra.plugin.{type_name}", *cls.aliases]
            },
            "inputs": {"type": "object"},
            "disabled": {"type": "boolean"},
        }
        triggers.append(
            {"type": "object", "properties": props, "required": ["id", "type"]}
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "sluice flow",
        "type": "object",
        "required": ["id", "namespace", "tasks"],
        "properties": {
            "id": {"type": "string"},
            "namespace": {"type": "string"},
            "description": {"type": "string"},
            "labels": {"type": ["object", "array"]},
            "inputs": {"type": "array", "items": {"$ref": "#/$defs/Input"}},
            "variables": {"type": "object"},
            "tasks": task_list,
            "errors": task_list,
            "finally": task_list,
            "outputs": {"type": "array", "items": {"$ref": "#/$defs/Output"}},
            "triggers": {
                "type": "array",
                "items": {"anyOf": triggers or [{"type": "object"}]},
            },
            "pluginDefaults": {"type": "array"},
            "concurrency": {"$ref": "#/$defs/Concurrency"},
            "disabled": {"type": "boolean"},
        },
        "$defs": defs,
    }
