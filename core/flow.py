"""Flows: the YAML model, parsed into typed definitions with every problem reported.

A flow is parsed from a *string* (core does no I/O). `parse_flow` returns a `Flow` or
raises `FlowValidationError` listing every problem found, each with the file, the line
and the property path, so a user fixes a file in one pass instead of one error at a time.

Task properties stay raw (templates unrendered) in `TaskDef.props`: expressions are
rendered when a task run starts. At parse time they are still checked: the plugin model
validates every property whose value is not a template, and every template must parse.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from sluice.core import registry
from sluice.core.errors import FlowValidationError, Problem
from sluice.core.events import JsonValue
from sluice.core.expressions import check_syntax, is_template
from sluice.core.inputs import InputSpec

FLOWABLE_TYPES: dict[str, str] = {}
"""Type name or alias -> canonical flowable type (`core.If`, …)."""
for _name, _kestra in [
    ("core.If", "io.kestra.plugin.core.flow.If"),
    ("core.Switch", "io.kestra.plugin.core.flow.Switch"),
    ("core.ForEach", "io.kestra.plugin.core.flow.ForEach"),
    ("core.Parallel", "io.kestra.plugin.core.flow.Parallel"),
    ("core.Sequential", "io.kestra.plugin.core.flow.Sequential"),
    ("core.Subflow", "io.kestra.plugin.core.flow.Subflow"),
    ("core.Pause", "io.kestra.plugin.core.flow.Pause"),
]:
    FLOWABLE_TYPES[_name] = FLOWABLE_TYPES[_kestra] = _name

COMMON_TASK_KEYS = {
    "id",
    "type",
    "description",
    "retry",
    "timeout",
    "runIf",
    "allowFailure",
    "allowWarning",
    "disabled",
    "logLevel",
}
_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")
_NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_TOP_KEYS = {
    "id",
    "namespace",
    "description",
    "labels",
    "inputs",
    "variables",
    "tasks",
    "errors",
    "finally",
    "outputs",
    "triggers",
    "pluginDefaults",
    "taskDefaults",
    "concurrency",
    "disabled",
    "retry",
    "revision",
}


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class RetryPolicy(_Model):
    """A task's retry policy (Kestra's `retry`): constant, exponential or random."""

    type: Literal["constant", "exponential", "random"]
    max_attempts: int | None = Field(default=None, ge=1)
    max_attempt: int | None = Field(default=None, ge=1)
    max_duration: timedelta | None = None
    interval: timedelta | None = None
    max_interval: timedelta | None = None
    min_interval: timedelta | None = None
    delay_factor: float = 2.0
    warning_on_retry: bool = False
    behavior: Literal["RETRY_FAILED_TASK"] = "RETRY_FAILED_TASK"

    @property
    def attempts(self) -> int:
        """How many attempts in all, the first included (unbounded: a large number)."""
        return self.max_attempts or self.max_attempt or 1_000_000

    def delay(self, failed_attempt: int, rand: float = 0.5) -> timedelta:
        """Delay before the attempt after `failed_attempt` (1-based)."""
        if self.type == "constant":
            return self.interval or timedelta(seconds=1)
        if self.type == "exponential":
            base = self.interval or timedelta(seconds=1)
            delay = base * (self.delay_factor ** (failed_attempt - 1))
            return min(delay, self.max_interval) if self.max_interval else delay
        low = self.min_interval or timedelta(0)
        high = self.max_interval or low
        return low + (high - low) * rand


class Concurrency(_Model):
    """Flow concurrency: at most `limit` running executions; what to do past it."""

    limit: int = Field(ge=1)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] = "QUEUE"


class FlowOutput(_Model):
    """A flow output, rendered when the execution ends."""

    id: str
    value: JsonValue = None
    type: str = "STRING"
    description: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class TaskDef:
    """One task of a flow: common properties, raw plugin properties, and children."""

    id: str
    type: str
    props: dict[str, JsonValue] = field(default_factory=dict)
    description: str | None = None
    retry: RetryPolicy | None = None
    timeout: timedelta | None = None
    run_if: JsonValue = None
    allow_failure: bool = False
    allow_warning: bool = False
    disabled: bool = False
    tasks: tuple[TaskDef, ...] = ()
    else_tasks: tuple[TaskDef, ...] = ()
    cases: dict[str, tuple[TaskDef, ...]] = field(default_factory=dict)
    errors: tuple[TaskDef, ...] = ()
    finally_tasks: tuple[TaskDef, ...] = ()
    on_resume: tuple[InputSpec, ...] = ()

    @property
    def flowable(self) -> bool:
        """Whether the scheduler runs this task (If, ForEach, Pause…), not a worker."""
        return self.type in FLOWABLE_TYPES.values()


@dataclass(frozen=True)
class TriggerDef:
    """One trigger of a flow: its raw properties are validated by the trigger's model."""

    id: str
    type: str
    props: dict[str, JsonValue]
    inputs: dict[str, JsonValue] = field(default_factory=dict)
    disabled: bool = False


@dataclass(frozen=True)
class Flow:
    """A parsed, validated flow revision."""

    id: str
    namespace: str
    source: str
    tasks: tuple[TaskDef, ...]
    description: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    inputs: tuple[InputSpec, ...] = ()
    variables: dict[str, JsonValue] = field(default_factory=dict)
    errors: tuple[TaskDef, ...] = ()
    finally_tasks: tuple[TaskDef, ...] = ()
    outputs: tuple[FlowOutput, ...] = ()
    triggers: tuple[TriggerDef, ...] = ()
    concurrency: Concurrency | None = None
    disabled: bool = False
    revision: int = 0

    @property
    def checksum(self) -> str:
        """A digest of the source: a redeploy of the same text is not a new revision."""
        return hashlib.sha256(self.source.encode()).hexdigest()

    def task(self, task_id: str) -> TaskDef | None:
        """The task with this id anywhere in the flow, or None."""
        return self.index().get(task_id)

    def index(self) -> dict[str, TaskDef]:
        """Every task of the flow by id (computed once per flow)."""
        cached: dict[str, TaskDef] | None = self.__dict__.get("_index")
        if cached is None:
            cached = {}
            for task in walk(self.tasks + self.errors + self.finally_tasks):
                cached[task.id] = task
            object.__setattr__(self, "_index", cached)
        return cached


def walk(tasks: tuple[TaskDef, ...]) -> list[TaskDef]:
    """Every task in `tasks` and below, depth first."""
    found: list[TaskDef] = []
    for task in tasks:
        found.append(task)
        children = task.tasks + task.else_tasks + task.errors + task.finally_tasks
        for branch in task.cases.values():
            children += branch
        found.extend(walk(children))
    return found


# --- parsing -----------------------------------------------------------------------


class _LineDict(dict[str, Any]):
    """A mapping that remembers the line of each key (1-based)."""

    lines: dict[str, int]
    line: int


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        mapping = _LineDict(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        mapping.lines = {
            str(k.value): k.start_mark.line + 1
            for k, _ in node.value
            if hasattr(k, "value")
        }
        return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)


def parse_flow(source: str, file: str | None = None) -> Flow:
    """Parse and validate a flow's YAML; raise `FlowValidationError` with every problem."""
    parser = _Parser(file)
    try:
        raw = yaml.load(source, Loader=_LineLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise FlowValidationError(
            [Problem(f"YAML syntax error: {problem}", file=file, line=line)]
        ) from err
    if not isinstance(raw, dict):
        raise FlowValidationError([Problem("a flow must be a YAML mapping", file=file)])
    flow = parser.flow(raw, source)
    if parser.problems:
        raise FlowValidationError(parser.problems)
    assert flow is not None
    return flow


class _Parser:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.seen_ids: dict[str, str] = {}
        self.defaults: list[tuple[str, bool, dict[str, Any]]] = []

    def problem(
        self, message: str, path: str, node: Any = None, key: str | None = None
    ) -> None:
        line = None
        if isinstance(node, _LineDict):
            line = node.lines.get(key, node.line) if key else node.line
        self.problems.append(Problem(message, path=path, file=self.file, line=line))

    def flow(self, raw: _LineDict, source: str) -> Flow | None:
        for key in raw:
            if key not in _TOP_KEYS:
                allowed = ", ".join(sorted(_TOP_KEYS))
                self.problem(
                    f"unknown flow property; allowed: {allowed}", key, raw, key
                )
        flow_id, namespace = raw.get("id"), raw.get("namespace")
        if not isinstance(flow_id, str) or not _ID.match(flow_id):
            self.problem(
                "`id` is required: letters, digits, '.', '_', '-'", "id", raw, "id"
            )
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            self.problem(
                "`namespace` is required: lowercase letters, digits, '.', '_', '-'",
                "namespace",
                raw,
                "namespace",
            )
        for entry in raw.get("pluginDefaults") or raw.get("taskDefaults") or []:
            if isinstance(entry, dict) and isinstance(entry.get("type"), str):
                values = entry.get("values") or {}
                self.defaults.append((entry["type"], bool(entry.get("forced")), values))
            else:
                self.problem(
                    "each pluginDefaults entry needs `type` and `values`",
                    "pluginDefaults",
                    raw,
                    "pluginDefaults",
                )
        tasks = self.task_list(raw.get("tasks"), "tasks", raw, required=True)
        errors = self.task_list(raw.get("errors"), "errors", raw)
        finally_tasks = self.task_list(raw.get("finally"), "finally", raw)
        inputs = self.inputs(raw.get("inputs"), "inputs", raw)
        outputs = self.models(FlowOutput, raw.get("outputs"), "outputs", raw)
        concurrency = self.model(
            Concurrency, raw.get("concurrency"), "concurrency", raw
        )
        triggers = self.triggers(raw.get("triggers"), raw)
        for problem in check_syntax(raw.get("variables") or {}):
            self.problem(problem[1], f"variables.{problem[0]}", raw, "variables")
        if self.problems:
            return None
        return Flow(
            id=flow_id,
            namespace=namespace,
            source=source,
            tasks=tasks,
            description=raw.get("description"),
            labels=_labels(raw.get("labels")),
            inputs=inputs,
            variables=dict(raw.get("variables") or {}),
            errors=errors,
            finally_tasks=finally_tasks,
            outputs=tuple(outputs),
            triggers=triggers,
            concurrency=concurrency,
            disabled=bool(raw.get("disabled", False)),
        )

    def model(self, cls: type[_Model], value: Any, path: str, node: Any) -> Any:
        if value is None:
            return None
        try:
            return cls.model_validate(value)
        except ValidationError as err:
            self.pydantic_problems(err, path, node, value)
            return None

    def models(self, cls: type[_Model], value: Any, path: str, node: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem("must be a list", path, node, path)
            return []
        found = [
            self.model(cls, item, f"{path}[{i}]", item) for i, item in enumerate(value)
        ]
        return [m for m in found if m is not None]

    def inputs(self, value: Any, path: str, node: Any) -> tuple[InputSpec, ...]:
        return tuple(self.models(InputSpec, value, path, node))  # type: ignore[arg-type]

    def pydantic_problems(
        self,
        err: ValidationError,
        path: str,
        node: Any,
        raw: Any,
        templated: bool = False,
    ) -> None:
        for item in err.errors():
            loc = [str(p) for p in item["loc"]]
            if templated and _templated_at(raw, item["loc"]):
                continue
            where = ".".join([path, *loc]) if loc else path
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                message = "unknown property"
                if isinstance(node, dict):
                    message += _allowed_hint(node.get("type"))
            line_node = node
            key = loc[0] if loc else None
            self.problem(message, where, line_node, key)

    def task_list(
        self, value: Any, path: str, node: Any, required: bool = False
    ) -> tuple[TaskDef, ...]:
        if value is None:
            if required:
                self.problem(
                    "`tasks` is required and must not be empty", path, node, path
                )
            return ()
        if not isinstance(value, list) or (required and not value):
            self.problem("must be a non-empty list of tasks", path, node, path)
            return ()
        found = [self.task(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return tuple(t for t in found if t is not None)

    def task(self, raw: Any, path: str) -> TaskDef | None:
        if not isinstance(raw, dict):
            self.problem("a task must be a mapping with `id` and `type`", path, raw)
            return None
        task_id, type_name = raw.get("id"), raw.get("type")
        if not isinstance(task_id, str) or not _ID.match(task_id):
            hint = (
                f" (YAML read {task_id!r} as a {type(task_id).__name__}: quote it)"
                if isinstance(task_id, bool | int | float)
                else ""
            )
            self.problem(
                f"`id` is required: letters, digits, '.', '_', '-'{hint}",
                f"{path}.id",
                raw,
                "id",
            )
            task_id = None
        elif task_id in self.seen_ids:
            self.problem(
                f"duplicate task id {task_id!r} (also at {self.seen_ids[task_id]})",
                f"{path}.id",
                raw,
                "id",
            )
        else:
            self.seen_ids[task_id] = path
        if not isinstance(type_name, str):
            self.problem("`type` is required", f"{path}.type", raw, "type")
            return None
        common = {k: raw[k] for k in COMMON_TASK_KEYS if k in raw}
        props = {k: v for k, v in raw.items() if k not in COMMON_TASK_KEYS}
        for sub, message in check_syntax(raw):
            self.problem(message, f"{path}.{sub}", raw, sub.split(".")[0].split("[")[0])
        retry = self.model(RetryPolicy, common.get("retry"), f"{path}.retry", raw)
        timeout = self.duration(common.get("timeout"), f"{path}.timeout", raw)
        base: dict[str, Any] = {
            "id": task_id or "?",
            "description": common.get("description"),
            "retry": retry,
            "timeout": timeout,
            "run_if": common.get("runIf"),
            "allow_failure": bool(common.get("allowFailure", False)),
            "allow_warning": bool(common.get("allowWarning", False)),
            "disabled": bool(common.get("disabled", False)),
        }
        if type_name in FLOWABLE_TYPES:
            return self.flowable(FLOWABLE_TYPES[type_name], props, base, raw, path)
        cls = registry.task_class(type_name)
        if cls is None:
            self.problem(_unknown_type(type_name), f"{path}.type", raw, "type")
            return None
        props = self.apply_defaults(type_name, cls, props)
        try:
            cls.model_validate(props)
        except ValidationError as err:
            self.pydantic_problems(err, path, raw, props, templated=True)
        return TaskDef(type=cls.type_name, props=props, **base)

    def apply_defaults(
        self, type_name: str, cls: Any, props: dict[str, Any]
    ) -> dict[str, Any]:
        names = {cls.type_name, f"io.kestra.plugin.{cls.type_name}", type_name}
        fields = {f.alias or n for n, f in cls.model_fields.items()} | set(
            cls.model_fields
        )
        merged = dict(props)
        for prefix, forced, values in self.defaults:
            if not any(n == prefix or n.startswith(prefix + ".") for n in names):
                continue
            for key, value in values.items():
                if key in fields and (forced or key not in merged):
                    merged[key] = value
        return merged

    def duration(self, value: Any, path: str, node: Any) -> timedelta | None:
        if value is None:
            return None
        try:
            return _Durations.model_validate({"value": value}).value
        except ValidationError:
            self.problem(
                f"not a duration (ISO 8601, e.g. PT30S): {value!r}",
                path,
                node,
                path.rsplit(".", 1)[-1],
            )
            return None

    def flowable(
        self,
        kind: str,
        props: dict[str, Any],
        base: dict[str, Any],
        raw: Any,
        path: str,
    ) -> TaskDef | None:
        spec = _FLOWABLE_PROPS[kind]
        for key in props:
            if key not in spec:
                self.problem(
                    f"unknown property; allowed for {kind}: "
                    f"{', '.join(sorted(spec | COMMON_TASK_KEYS))}",
                    f"{path}.{key}",
                    raw,
                    key,
                )
        for key in _FLOWABLE_REQUIRED[kind]:
            if key not in props:
                self.problem(f"`{key}` is required for {kind}", f"{path}.{key}", raw)
        kids: dict[str, Any] = {
            "tasks": self.task_list(
                props.get("tasks") or props.get("then"), f"{path}.tasks", raw
            ),
            "else_tasks": self.task_list(props.get("else"), f"{path}.else", raw),
            "errors": self.task_list(props.get("errors"), f"{path}.errors", raw),
            "finally_tasks": self.task_list(
                props.get("finally"), f"{path}.finally", raw
            ),
            "cases": {
                str(k): self.task_list(v, f"{path}.cases.{k}", raw)
                for k, v in (props.get("cases") or {}).items()
            },
        }
        if kind == "core.Switch":
            kids["else_tasks"] = self.task_list(
                props.get("defaults"), f"{path}.defaults", raw
            )
        if kind == "core.Pause":
            kids["on_resume"] = self.inputs(
                props.get("onResume"), f"{path}.onResume", raw
            )
            if "behavior" in props and props["behavior"] not in {
                "RESUME",
                "WARN",
                "FAIL",
                "CANCEL",
            }:
                self.problem(
                    "behavior must be one of RESUME, WARN, FAIL, CANCEL",
                    f"{path}.behavior",
                    raw,
                    "behavior",
                )
            self.duration(props.get("pauseDuration"), f"{path}.pauseDuration", raw)
        scalar = {k: v for k, v in props.items() if k not in _CHILD_KEYS}
        return TaskDef(type=kind, props=scalar, **base, **kids)

    def triggers(self, value: Any, raw: Any) -> tuple[TriggerDef, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem("must be a list", "triggers", raw, "triggers")
            return ()
        found: list[TriggerDef] = []
        for i, item in enumerate(value):
            path = f"triggers[{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                self.problem("a trigger needs `id` and `type`", path, item)
                continue
            cls = registry.trigger_class(str(item.get("type")))
            if cls is None:
                self.problem(
                    _unknown_type(str(item.get("type")), trigger=True),
                    f"{path}.type",
                    item,
                    "type",
                )
                continue
            props = {
                k: v
                for k, v in item.items()
                if k not in {"id", "type", "inputs", "disabled", "description"}
            }
            props = self.apply_defaults(str(item["type"]), cls, props)
            try:
                cls.model_validate(props)
            except ValidationError as err:
                self.pydantic_problems(err, path, item, props, templated=True)
                continue
            found.append(
                TriggerDef(
                    id=item["id"],
                    type=cls.type_name,
                    props=props,
                    inputs=dict(item.get("inputs") or {}),
                    disabled=bool(item.get("disabled", False)),
                )
            )
        return tuple(found)


class _Durations(BaseModel):
    value: timedelta


_CHILD_KEYS = {
    "tasks",
    "then",
    "else",
    "errors",
    "finally",
    "cases",
    "defaults",
    "onResume",
}
_FLOWABLE_PROPS: dict[str, set[str]] = {
    "core.If": {"condition", "then", "else", "errors", "finally"},
    "core.Switch": {"value", "cases", "defaults", "errors", "finally"},
    "core.ForEach": {"values", "concurrencyLimit", "tasks", "errors", "finally"},
    "core.Parallel": {"tasks", "concurrent", "errors", "finally"},
    "core.Sequential": {"tasks", "errors", "finally"},
    "core.Subflow": {
        "namespace",
        "flowId",
        "inputs",
        "wait",
        "transmitFailed",
        "scheduleDate",
        "labels",
        "revision",
        "inheritLabels",
    },
    "core.Pause": {"pauseDuration", "delay", "behavior", "onResume"},
}
_FLOWABLE_REQUIRED: dict[str, tuple[str, ...]] = {
    "core.If": ("condition", "then"),
    "core.Switch": ("value",),
    "core.ForEach": ("values", "tasks"),
    "core.Parallel": ("tasks",),
    "core.Sequential": ("tasks",),
    "core.Subflow": ("namespace", "flowId"),
    "core.Pause": (),
}


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {
            str(i.get("key")): str(i.get("value")) for i in value if isinstance(i, dict)
        }
    return {}


def _templated_at(raw: Any, loc: tuple[int | str, ...]) -> bool:
    """Whether the raw value at `loc` (or one of its parents) is a template string."""
    node = raw
    for part in loc:
        if is_template(node):
            return True
        if isinstance(node, dict):
            key = next((k for k in node if k == part or to_camel(str(k)) == part), part)
            node = node.get(key) if isinstance(key, str) else None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return is_template(node)


def _allowed_hint(type_name: Any) -> str:
    cls = registry.task_class(str(type_name)) or registry.trigger_class(str(type_name))
    if cls is None:
        return ""
    names = sorted(f.alias or n for n, f in cls.model_fields.items())
    return f"; allowed for {cls.type_name}: {', '.join(names)}"


def _unknown_type(type_name: str, trigger: bool = False) -> str:
    known = (
        registry.trigger_types()
        if trigger
        else sorted(set(registry.task_types()) | set(FLOWABLE_TYPES.values()))
    )
    what = "trigger" if trigger else "task"
    return f"unknown {what} type {type_name!r}; known types: {', '.join(known)}"
