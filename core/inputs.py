"""Flow inputs and Pause `onResume` inputs: declared by `InputSpec`, checked at once.

`validate_inputs` coerces the values given (JSON from the API, strings from
``--input KEY=VALUE`` when `from_cli`) to JSON data: numbers, booleans, lists, maps,
date-times as ISO 8601 UTC strings (``2024-05-01T10:00:00Z``), dates and times as ISO
strings, durations as ISO 8601 durations (``PT5M``; days print as hours, ``PT24H``). It
collects every problem, each naming the input, what is wrong and what is allowed, and
raises them together in one `InputError`.

Defaults are literal values: a ``{{ … }}`` in `defaults` is not rendered (Kestra renders
it; sluice does not yet), and a default is checked against its input's type when the
flow is parsed. Values of SECRET inputs are returned like the others (the engine stores
them redacted, see `secret_input_names`) and never appear in an error message.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from sluice.core.errors import InputError
from sluice.core.events import JsonValue


class InputType(StrEnum):
    """The input types, as Kestra names them."""

    STRING = "STRING"
    INT = "INT"
    FLOAT = "FLOAT"
    BOOL = "BOOL"
    BOOLEAN = "BOOLEAN"
    SELECT = "SELECT"
    MULTISELECT = "MULTISELECT"
    DATETIME = "DATETIME"
    DATE = "DATE"
    TIME = "TIME"
    DURATION = "DURATION"
    JSON = "JSON"
    ARRAY = "ARRAY"
    SECRET = "SECRET"  # noqa: S105  (a type name, not a password)
    URI = "URI"
    EMAIL = "EMAIL"
    YAML = "YAML"


_T = InputType
_RANGED = {_T.INT, _T.FLOAT, _T.DURATION}
_DATED = {_T.DATETIME, _T.DATE, _T.TIME}
_CHOICES = {_T.SELECT, _T.MULTISELECT}
_ONLY_FOR: dict[str, set[InputType]] = {
    "validator": {_T.STRING}, "min": _RANGED, "max": _RANGED, "values": _CHOICES,
    "allow_custom_value": _CHOICES, "after": _DATED, "before": _DATED,
    "item_type": {_T.ARRAY},
}  # fmt: skip
_ITEM_TYPES = set(_T) - {_T.ARRAY, _T.SELECT, _T.MULTISELECT, _T.SECRET}
_EXPECTED = {
    _T.STRING: "a string", _T.SECRET: "a string", _T.INT: "a whole number",
    _T.FLOAT: "a number", _T.BOOL: "true or false", _T.BOOLEAN: "true or false",
    _T.SELECT: "one of", _T.MULTISELECT: "a list of", _T.JSON: "JSON", _T.YAML: "YAML",
    _T.ARRAY: "a list (JSON, or comma-separated) of items each",
    _T.DATETIME: "an ISO 8601 date-time with a time zone",
    _T.DATE: "an ISO 8601 date", _T.TIME: "an ISO 8601 time without a time zone",
    _T.DURATION: "an ISO 8601 duration", _T.URI: "an absolute URI",
    _T.EMAIL: "an email address",
}  # fmt: skip
_EXAMPLES = {
    _T.DATETIME: "2024-05-01T10:00:00Z", _T.DATE: "2024-05-01", _T.TIME: "10:30:00",
    _T.DURATION: "PT5M or P1DT2H", _T.URI: "https://example.com/path",
    _T.EMAIL: "name@example.com",
}  # fmt: skip


class InputSpec(BaseModel):
    """One declared input (YAML in camelCase: `displayName`, `allowCustomValue`, …)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    id: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    type: InputType
    required: bool = True
    defaults: JsonValue = None
    description: str | None = None
    display_name: str | None = None
    validator: str | None = None
    min: int | float | str | None = None
    max: int | float | str | None = None
    values: list[str] | None = None
    allow_custom_value: bool = False
    after: JsonValue = None
    before: JsonValue = None
    item_type: InputType | None = None

    @field_validator("type", "item_type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> object:
        if value is not None and not (
            isinstance(value, str) and value in _T.__members__
        ):
            raise ValueError(
                f"unknown input type {value!r}; valid types: {', '.join(_T)}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        problems = [
            f"{to_camel(prop)} applies only to {', '.join(sorted(types))}"
            for prop, types in _ONLY_FOR.items()
            if _given(getattr(self, prop)) and self.type not in types
        ]
        if self.type in _CHOICES and not self.values:
            problems.append(f"values is required for {self.type}")
        if self.type is _T.ARRAY and self.item_type not in _ITEM_TYPES:
            problems.append(
                f"itemType must be one of: {', '.join(sorted(_ITEM_TYPES))}"
            )
        if self.validator is not None:
            try:
                re.compile(self.validator)
            except re.error as err:
                problems.append(f"validator is not a valid regular expression: {err}")
        for name, bound in self._bounds():
            try:
                _PARSE[self.type](bound, False)
            except _InvalidValueError as err:
                problems.append(f"{name}: {err}; expected {_EXPECTED[self.type]}")
        if not problems and self.defaults is not None:
            try:
                _coerce(self, self.defaults, False)
            except _InvalidValueError as err:
                problems.append(f"defaults: {err}; expected {_expected(self)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _bounds(self) -> list[tuple[str, object]]:
        pairs = [("min", self.min), ("max", self.max)] if self.type in _RANGED else []
        if self.type in _DATED:
            pairs = [("after", self.after), ("before", self.before)]
        return [(name, bound) for name, bound in pairs if bound is not None]


def _given(value: object) -> bool:
    """Whether a type-specific property is set (not None, False or [] by default)."""
    return value is not None and value is not False and value != []


def validate_inputs(
    specs: Sequence[InputSpec], given: Mapping[str, object], *, from_cli: bool = False
) -> dict[str, JsonValue]:
    """Coerce and check `given` against `specs`; every declared input is in the result.

    Args:
        specs: the flow's `inputs` (or a Pause task's `onResume`).
        given: values by input id; a value of None counts as not given.
        from_cli: values are strings from ``--input KEY=VALUE`` and are parsed ("3" for
            INT, "true" for BOOL, JSON text or ``a,b`` for ARRAY and MULTISELECT).

    Returns:
        JSON data by input id; an optional input with no value and no default is None.

    Raises:
        InputError: with every problem found (unknown names, missing, invalid values).
    """
    declared = [spec.id for spec in specs]
    problems = [
        f"unknown input {name!r}; declared: {', '.join(declared) or 'none'}"
        for name in given if name not in declared
    ]  # fmt: skip
    values: dict[str, JsonValue] = {}
    for spec in specs:
        raw, cli = given.get(spec.id), from_cli
        if raw is None:
            raw, cli = spec.defaults, False
        if raw is None:
            if spec.required:
                problems.append(
                    f"input {spec.id!r} is required and has no default; "
                    f"expected {_expected(spec)}"
                )
            values[spec.id] = None
            continue
        try:
            values[spec.id] = _coerce(spec, raw, cli)
        except _InvalidValueError as err:
            problems.append(f"input {spec.id!r}: {err}; expected {_expected(spec)}")
    if problems:
        raise InputError(problems)
    return values


def secret_input_names(specs: Sequence[InputSpec]) -> set[str]:
    """The ids of SECRET inputs, whose values must be stored redacted."""
    return {spec.id for spec in specs if spec.type is _T.SECRET}


# --- durations -----------------------------------------------------------------------

_DURATION = re.compile(
    r"([-+]?)P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d{1,9})?)S)?)?",
    re.IGNORECASE,
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration as Java's `Duration.parse` reads it (`PT5M`, `-P1DT2H`).

    Raises:
        ValueError: `text` is not such a duration (years, months and weeks are not).
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()[1:]):
        raise ValueError(f"{text!r} is not an ISO 8601 duration like PT5M or P1DT2H")
    sign, days, hours, minutes, seconds = match.groups()
    delta = timedelta(
        days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
        seconds=float((seconds or "0").replace(",", ".")),
    )  # fmt: skip
    return -delta if sign == "-" else delta


def format_duration(value: timedelta) -> str:
    """A duration in ISO 8601, as Java prints it (`PT26H5M0.5S`, `PT0S`, `-PT5M`)."""
    micros = value // timedelta(microseconds=1)
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    seconds, micros = divmod(micros, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or micros or not text:
        text += f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    return f"{sign}PT{text}"


# --- one value -----------------------------------------------------------------------


class _InvalidValueError(Exception):
    """A value does not fit its input; the message says what is wrong (not allowed)."""


def _coerce(spec: InputSpec, raw: object, cli: bool) -> JsonValue:
    if spec.type is _T.ARRAY:
        assert spec.item_type is not None  # checked by InputSpec
        items, item_cli = _listed(raw, cli)
        out, bad = [], []
        for index, item in enumerate(items):
            try:
                out.append(_json(_PARSE[spec.item_type](item, item_cli)))
            except _InvalidValueError as err:
                bad.append(f"item {index}: {err}")
        if bad:
            raise _InvalidValueError("; ".join(bad))
        return out
    value = _PARSE[spec.type](raw, cli)
    _check(spec, value)
    return _json(value)


def _check(spec: InputSpec, value: Any) -> None:
    """The constraints beyond the type: validator, values, min/max, after/before."""
    if spec.validator is not None and not re.fullmatch(spec.validator, value):
        raise _InvalidValueError(f"{_show(value)} does not match the validator")
    if spec.type in _CHOICES and not spec.allow_custom_value:
        for choice in value if isinstance(value, list) else [value]:
            if choice not in (spec.values or []):
                raise _InvalidValueError(f"{_show(choice)} is not one of the values")
    low, high = (
        (spec.min, spec.max) if spec.type in _RANGED else (spec.after, spec.before)
    )
    if low is not None and value < _PARSE[spec.type](low, False):
        raise _InvalidValueError(
            f"{_show(_json(value))} is below the lower bound {low}"
        )
    if high is not None and value > _PARSE[spec.type](high, False):
        raise _InvalidValueError(
            f"{_show(_json(value))} is above the upper bound {high}"
        )


def _expected(spec: InputSpec) -> str:
    """What the input allows, for messages."""
    text = _EXPECTED[spec.type]
    if spec.type is _T.ARRAY and spec.item_type is not None:
        text += f" {_EXPECTED[spec.item_type]}"
    if spec.type in _CHOICES:
        text += f": {', '.join(spec.values or [])}"
        text += " (or any other string)" if spec.allow_custom_value else ""
    if spec.validator is not None:
        text += f" matching {spec.validator}"
    low, high = (
        (spec.min, spec.max) if spec.type in _RANGED else (spec.after, spec.before)
    )
    if low is not None:
        text += f" from {low}"
    if high is not None:
        text += f" up to {high}"
    example = _EXAMPLES.get(spec.item_type or spec.type)
    return f"{text} (like {example})" if example else text


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "a map", type(None): "null"}  # fmt: skip
    return names.get(type(value), f"a {type(value).__name__}")


def _json(value: object) -> JsonValue:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    return value


def _plain(value: object) -> JsonValue:
    """Parsed JSON or YAML as JSON data (YAML dates become ISO strings)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _InvalidValueError("holds a number that is not finite")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, datetime | date | time):
        return _json(value)
    raise _InvalidValueError(f"holds {_kind(value)}, which is not JSON")


def _listed(raw: object, cli: bool) -> tuple[list[Any], bool]:
    """A list, and whether its items are CLI strings (comma-separated) to parse."""
    if isinstance(raw, list):
        return raw, False
    if cli and isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):  # JSON text starting with [ is always a list
            return _json_text(text), False
        return ([part.strip() for part in text.split(",")] if text else []), True
    raise _InvalidValueError(f"got {_kind(raw)}")


def _json_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise _InvalidValueError(f"not valid JSON: {err}") from err


def _string(raw: object, cli: bool) -> str:
    if not isinstance(raw, str):
        raise _InvalidValueError(f"got {_kind(raw)}")
    return raw


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _integer(raw: object, cli: bool) -> int:
    if cli and isinstance(raw, str) and re.fullmatch(r"\s*[-+]?\d+\s*", raw):
        return int(raw)
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise _InvalidValueError(f"got {_show(raw) if cli else _kind(raw)}")


def _float(raw: object, cli: bool) -> float:
    if cli and isinstance(raw, str) and _NUMBER.fullmatch(raw.strip()):
        raw = float(raw)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if not math.isfinite(raw):
            raise _InvalidValueError("got a number that is not finite")
        return float(raw)
    raise _InvalidValueError(f"got {_show(raw) if cli else _kind(raw)}")


def _boolean(raw: object, cli: bool) -> bool:
    if cli and isinstance(raw, str) and raw.strip().lower() in {"true", "false"}:
        return raw.strip().lower() == "true"
    if isinstance(raw, bool):
        return raw
    raise _InvalidValueError(f"got {_show(raw) if cli else _kind(raw)}")


def _choices(raw: object, cli: bool) -> list[str]:
    items, _ = _listed(raw, cli)
    for item in items:
        if not isinstance(item, str):
            raise _InvalidValueError(f"holds {_kind(item)}")
    return items


def _temporal(kind: type[date] | type[time]) -> Callable[[object, bool], Any]:
    def parse(raw: object, cli: bool) -> Any:
        value = raw
        if isinstance(raw, str):
            try:
                value = kind.fromisoformat(raw.strip())
            except ValueError as err:
                raise _InvalidValueError(f"got {_show(raw)}") from err
        if type(value) is not kind:
            raise _InvalidValueError(f"got {_kind(raw)}")
        zoned = (
            value.utcoffset() is not None
            if isinstance(value, datetime | time)
            else None
        )
        if zoned is False and kind is datetime:
            raise _InvalidValueError(f"{_show(raw)} has no time zone")
        if zoned and kind is time:
            raise _InvalidValueError(f"{_show(raw)} has a time zone")
        return value

    return parse


def _duration(raw: object, cli: bool) -> timedelta:
    try:
        return parse_duration(_string(raw, cli))
    except ValueError as err:
        raise _InvalidValueError(f"got {_show(raw)}") from err


def _json_input(raw: object, cli: bool) -> JsonValue:
    return _plain(_json_text(raw) if isinstance(raw, str) else raw)


def _yaml_input(raw: object, cli: bool) -> JsonValue:
    if not isinstance(raw, str):
        return _plain(raw)
    try:
        return _plain(yaml.safe_load(raw))
    except yaml.YAMLError as err:
        raise _InvalidValueError(f"not valid YAML: {err}") from err


def _secret(raw: object, cli: bool) -> str:
    if not isinstance(raw, str):
        raise _InvalidValueError(f"got {_kind(raw)}")  # never the value itself
    return raw


def _uri(raw: object, cli: bool) -> str:
    text = _string(raw, cli)
    try:
        parts = urlsplit(text)
    except ValueError as err:
        raise _InvalidValueError(f"got {_show(text)}") from err
    if not parts.scheme or not (parts.netloc or parts.path) or re.search(r"\s", text):
        raise _InvalidValueError(f"got {_show(text)}")
    return text


def _email(raw: object, cli: bool) -> str:
    text = _string(raw, cli)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s.]+", text):
        raise _InvalidValueError(f"got {_show(text)}")
    return text


_PARSE: dict[InputType, Callable[[object, bool], Any]] = {
    _T.STRING: _string, _T.SELECT: _string, _T.INT: _integer, _T.FLOAT: _float,
    _T.BOOL: _boolean, _T.BOOLEAN: _boolean, _T.MULTISELECT: _choices,
    _T.DATETIME: _temporal(datetime), _T.DATE: _temporal(date),
    _T.TIME: _temporal(time), _T.DURATION: _duration, _T.JSON: _json_input,
    _T.YAML: _yaml_input, _T.SECRET: _secret, _T.URI: _uri, _T.EMAIL: _email,
}  # fmt: skip

__all__ = [
    "InputSpec",
    "InputType",
    "format_duration",
    "parse_duration",
    "secret_input_names",
    "validate_inputs",
]
