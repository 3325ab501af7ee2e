"""Flow and resume inputs: declaring them, coercing values, reporting every problem."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from sluice.core.errors import InputError
from sluice.core.inputs import (
    InputSpec,
    InputType,
    format_duration,
    parse_duration,
    secret_input_names,
    validate_inputs,
)


def spec(**raw: Any) -> InputSpec:
    return InputSpec.model_validate(raw)


def one(raw_spec: dict[str, Any], value: Any, *, from_cli: bool = False) -> Any:
    """Validate one value against one input and return the coerced value."""
    return validate_inputs([spec(id="x", **raw_spec)], {"x": value}, from_cli=from_cli)[
        "x"
    ]


def problems_for(
    raw_spec: dict[str, Any], value: Any, *, from_cli: bool = False
) -> list[str]:
    with pytest.raises(InputError) as err:
        validate_inputs([spec(id="x", **raw_spec)], {"x": value}, from_cli=from_cli)
    problems: list[str] = err.value.problems
    return problems


# --- valid values of every type ------------------------------------------------------

VALID = [
    ({"type": "STRING"}, "hello", "hello"),
    ({"type": "STRING", "validator": "^[a-z]+-\\d+$"}, "run-42", "run-42"),
    ({"type": "INT"}, 7, 7),
    ({"type": "INT"}, 7.0, 7),
    ({"type": "INT", "min": 1, "max": 10}, 10, 10),
    ({"type": "FLOAT"}, 2, 2.0),
    ({"type": "FLOAT", "min": 0.5}, 0.5, 0.5),
    ({"type": "BOOL"}, True, True),
    ({"type": "BOOLEAN"}, False, False),
    ({"type": "SELECT", "values": ["dev", "prod"]}, "prod", "prod"),
    ({"type": "SELECT", "values": ["dev"], "allowCustomValue": True}, "qa", "qa"),
    ({"type": "MULTISELECT", "values": ["a", "b", "c"]}, ["a", "c"], ["a", "c"]),
    ({"type": "DATETIME"}, "2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00Z"),
    ({"type": "DATETIME"}, "2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.500000Z"),
    (
        {"type": "DATETIME", "after": "2024-01-01T00:00:00Z"},
        datetime(2024, 1, 1, tzinfo=UTC),
        "2024-01-01T00:00:00Z",
    ),
    ({"type": "DATE", "before": "2024-12-31"}, "2024-12-31", "2024-12-31"),
    ({"type": "DATE"}, date(2024, 2, 29), "2024-02-29"),
    ({"type": "TIME", "after": "08:00", "before": "18:00"}, "10:30", "10:30:00"),
    ({"type": "DURATION"}, "PT5M", "PT5M"),
    ({"type": "DURATION", "min": "PT1M", "max": "P1D"}, "P1DT0H", "PT24H"),
    ({"type": "JSON"}, '{"a": [1, 2]}', {"a": [1, 2]}),
    ({"type": "JSON"}, {"already": "parsed"}, {"already": "parsed"}),
    ({"type": "JSON"}, '"just text"', "just text"),
    ({"type": "YAML"}, "a: 1\nb: [x, y]\n", {"a": 1, "b": ["x", "y"]}),
    ({"type": "YAML"}, "day: 2024-05-01", {"day": "2024-05-01"}),
    ({"type": "YAML"}, {"already": ["parsed"]}, {"already": ["parsed"]}),
    ({"type": "ARRAY", "itemType": "INT"}, [1, 2], [1, 2]),
    ({"type": "ARRAY", "itemType": "DATE"}, ["2024-01-02"], ["2024-01-02"]),
    ({"type": "ARRAY", "itemType": "JSON"}, [{"a": 1}], [{"a": 1}]),
    ({"type": "SECRET"}, "hunter2", "hunter2"),
    ({"type": "URI"}, "s3://bucket/key.csv", "s3://bucket/key.csv"),
    ({"type": "URI"}, "https://example.com/a?b=c", "https://example.com/a?b=c"),
    ({"type": "EMAIL"}, "ops@example.com", "ops@example.com"),
]


@pytest.mark.parametrize(("raw_spec", "value", "expected"), VALID)
def test_validate_inputs_accepts_and_coerces_valid_values(raw_spec, value, expected):
    assert one(raw_spec, value) == expected


CLI = [
    ({"type": "STRING"}, "  spaced ", "  spaced "),
    ({"type": "INT"}, "42", 42),
    ({"type": "INT"}, " -3 ", -3),
    ({"type": "FLOAT"}, "1.5e3", 1500.0),
    ({"type": "FLOAT"}, "3", 3.0),
    ({"type": "BOOL"}, "TRUE", True),
    ({"type": "BOOLEAN"}, "false", False),
    ({"type": "SELECT", "values": ["a", "b"]}, "b", "b"),
    ({"type": "MULTISELECT", "values": ["a", "b"]}, "a, b", ["a", "b"]),
    ({"type": "MULTISELECT", "values": ["a", "b"]}, '["b"]', ["b"]),
    ({"type": "MULTISELECT", "values": ["a"]}, "", []),
    ({"type": "ARRAY", "itemType": "INT"}, "1,2, 3", [1, 2, 3]),
    ({"type": "ARRAY", "itemType": "INT"}, "[4, 5]", [4, 5]),
    ({"type": "ARRAY", "itemType": "BOOL"}, "true,false", [True, False]),
    ({"type": "JSON"}, '{"k": null}', {"k": None}),
    ({"type": "DATETIME"}, "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
    ({"type": "DURATION"}, "pt90s", "PT1M30S"),
]


@pytest.mark.parametrize(("raw_spec", "text", "expected"), CLI)
def test_validate_inputs_parses_cli_strings(raw_spec, text, expected):
    assert one(raw_spec, text, from_cli=True) == expected


# --- invalid values of every type ----------------------------------------------------

INVALID = [
    ({"type": "STRING"}, 3, "got a number", "a string"),
    (
        {"type": "STRING", "validator": "^\\d+$"},
        "12a",
        "'12a' does not match the validator",
        "matching ^\\d+$",
    ),
    ({"type": "INT"}, "3", "got a string", "a whole number"),
    ({"type": "INT"}, True, "got a boolean", "a whole number"),
    ({"type": "INT"}, 2.5, "got a number", "a whole number"),
    (
        {"type": "INT", "min": 1, "max": 10},
        11,
        "11 is above the upper bound 10",
        "from 1 up to 10",
    ),
    ({"type": "INT", "min": 1}, 0, "0 is below the lower bound 1", "from 1"),
    ({"type": "FLOAT"}, float("nan"), "not finite", "a number"),
    ({"type": "FLOAT", "max": 1}, 1.5, "above the upper bound 1", "up to 1"),
    ({"type": "BOOL"}, "true", "got a string", "true or false"),
    ({"type": "BOOLEAN"}, 1, "got a number", "true or false"),
    (
        {"type": "SELECT", "values": ["dev", "prod"]},
        "qa",
        "'qa' is not one of",
        "one of: dev, prod",
    ),
    (
        {"type": "MULTISELECT", "values": ["a"]},
        ["a", "z"],
        "'z' is not one of",
        "a list of: a",
    ),
    ({"type": "MULTISELECT", "values": ["a"]}, "a", "got a string", "a list of: a"),
    ({"type": "MULTISELECT", "values": ["a"]}, [1], "holds a number", "a list of: a"),
    (
        {"type": "DATETIME"},
        "2024-05-01T10:00:00",
        "has no time zone",
        "like 2024-05-01T10:00:00Z",
    ),
    ({"type": "DATETIME"}, "yesterday", "got 'yesterday'", "ISO 8601 date-time"),
    ({"type": "DATETIME"}, date(2024, 1, 1), "got a date", "ISO 8601 date-time"),
    (
        {"type": "DATETIME", "after": "2024-01-01T00:00:00Z"},
        "2023-12-31T23:59:59Z",
        "below the lower bound 2024-01-01T00:00:00Z",
        "from 2024-01-01T00:00:00Z",
    ),
    (
        {"type": "DATE"},
        "2024-02-30",
        "got '2024-02-30'",
        "an ISO 8601 date (like 2024-05-01)",
    ),
    (
        {"type": "DATE"},
        datetime(2024, 1, 1, tzinfo=UTC),
        "got a datetime",
        "ISO 8601 date",
    ),
    (
        {"type": "DATE", "after": "2024-06-01"},
        "2024-05-31",
        "below the lower bound",
        "from",
    ),
    ({"type": "TIME"}, "10:30+02:00", "has a time zone", "without a time zone"),
    (
        {"type": "TIME", "before": "18:00"},
        "18:00:01",
        "above the upper bound 18:00",
        "up to",
    ),
    ({"type": "DURATION"}, "5 minutes", "got '5 minutes'", "like PT5M or P1DT2H"),
    ({"type": "DURATION"}, "P1M", "got 'P1M'", "ISO 8601 duration"),
    ({"type": "DURATION"}, 300, "got a number", "ISO 8601 duration"),
    (
        {"type": "DURATION", "max": "PT1H"},
        "PT61M",
        "above the upper bound PT1H",
        "up to PT1H",
    ),
    ({"type": "JSON"}, "{nope", "not valid JSON", "JSON"),
    ({"type": "JSON"}, "[1, NaN]", "holds a number that is not finite", "JSON"),
    ({"type": "JSON"}, {"d": {1, 2}}, "holds a set, which is not JSON", "JSON"),
    ({"type": "YAML"}, "a: [unclosed", "not valid YAML", "YAML"),
    ({"type": "ARRAY", "itemType": "INT"}, "1,2", "got a string", "a list"),
    (
        {"type": "ARRAY", "itemType": "INT"},
        [1, "x", 2.5],
        "item 1: got a string; item 2:",
        "each a whole number",
    ),
    ({"type": "URI"}, "not a uri", "got 'not a uri'", "an absolute URI (like https://"),
    ({"type": "URI"}, "http://[::1", "got 'http://[::1'", "absolute URI"),
    (
        {"type": "EMAIL"},
        "ops@localhost",
        "got 'ops@localhost'",
        "like name@example.com",
    ),
]


@pytest.mark.parametrize(("raw_spec", "value", "wrong", "allowed"), INVALID)
def test_validate_inputs_rejects_invalid_values_saying_what_is_allowed(
    raw_spec, value, wrong, allowed
):
    [problem] = problems_for(raw_spec, value)
    assert problem.startswith("input 'x': ")
    assert wrong in problem
    assert allowed in problem.split("; expected ")[-1]


@pytest.mark.parametrize(
    ("raw_spec", "text"),
    [
        ({"type": "INT"}, "3.5"),
        ({"type": "INT"}, "1_000"),
        ({"type": "FLOAT"}, "nan"),
        ({"type": "FLOAT"}, "1e999"),
        ({"type": "BOOL"}, "yes"),
        ({"type": "ARRAY", "itemType": "INT"}, "1,,2"),
        ({"type": "JSON"}, "{'single': 'quotes'}"),
        ({"type": "ARRAY", "itemType": "STRING"}, "[x"),
    ],
)
def test_validate_inputs_rejects_bad_cli_strings(raw_spec, text):
    [problem] = problems_for(raw_spec, text, from_cli=True)
    assert problem.startswith("input 'x': ")


# --- presence, defaults, unknown names, all at once ----------------------------------


def test_validate_inputs_uses_defaults_and_fills_missing_optionals_with_none():
    specs = [
        spec(id="region", type="STRING", defaults="eu-west-1"),
        spec(id="limit", type="INT", defaults=5),
        spec(id="note", type="STRING", required=False),
    ]
    assert validate_inputs(specs, {}) == {
        "region": "eu-west-1",
        "limit": 5,
        "note": None,
    }
    assert validate_inputs(specs, {"limit": None, "note": "hi"})["limit"] == 5


def test_validate_inputs_coerces_defaults_even_from_the_cli():
    specs = [spec(id="wait", type="DURATION", defaults="P1D")]
    assert validate_inputs(specs, {}, from_cli=True) == {"wait": "PT24H"}


def test_validate_inputs_keeps_template_defaults_literal():
    specs = [spec(id="day", type="STRING", defaults="{{ now() }}")]
    assert validate_inputs(specs, {}) == {"day": "{{ now() }}"}


def test_validate_inputs_reports_every_problem_at_once():
    specs = [
        spec(id="bucket", type="STRING"),
        spec(id="count", type="INT", min=1),
        spec(id="env", type="SELECT", values=["dev", "prod"]),
        spec(id="ok", type="BOOL", required=False),
    ]
    with pytest.raises(InputError) as err:
        validate_inputs(specs, {"count": 0, "env": "qa", "extra": 1, "other": 2})
    assert err.value.problems == [
        "unknown input 'extra'; declared: bucket, count, env, ok",
        "unknown input 'other'; declared: bucket, count, env, ok",
        "input 'bucket' is required and has no default; expected a string",
        "input 'count': 0 is below the lower bound 1; expected a whole number from 1",
        "input 'env': 'qa' is not one of the values; expected one of: dev, prod",
    ]
    assert "unknown input 'extra'" in str(err.value)


def test_validate_inputs_with_no_declared_inputs_rejects_any_value():
    with pytest.raises(InputError, match="unknown input 'x'; declared: none"):
        validate_inputs([], {"x": 1})


def test_validate_inputs_result_is_json_data():
    specs = [
        spec(id="at", type="DATETIME"),
        spec(id="d", type="DURATION"),
        spec(id="cfg", type="YAML"),
    ]
    out = validate_inputs(
        specs,
        {
            "at": "2024-05-01T10:00:00Z",
            "d": "PT1H",
            "cfg": "when: 2024-05-01T10:00:00Z",
        },
    )
    assert yaml.safe_load(yaml.safe_dump(out)) == out
    assert out["cfg"] == {"when": "2024-05-01T10:00:00Z"}


# --- secrets -------------------------------------------------------------------------


def test_secret_inputs_are_named_and_their_values_never_appear_in_problems():
    specs = [
        spec(id="password", type="SECRET"),
        spec(id="token", type="SECRET", required=False),
        spec(id="user", type="STRING"),
    ]
    assert secret_input_names(specs) == {"password", "token"}
    with pytest.raises(InputError) as err:
        validate_inputs(specs, {"password": ["hunter2-secret"], "user": "me"})
    assert err.value.problems == ["input 'password': got a list; expected a string"]
    assert "hunter2" not in str(err.value)


def test_secret_input_defaults_are_checked_without_showing_the_value():
    with pytest.raises(ValidationError) as err:
        spec(id="pw", type="SECRET", defaults={"nested": "hunter2-secret"})
    [problem] = err.value.errors()
    assert "defaults: got a map" in problem["msg"]
    assert "hunter2" not in problem["msg"]


# --- declaring inputs ----------------------------------------------------------------


def test_input_spec_reads_kestra_camel_case_properties():
    declared = InputSpec.model_validate(
        {"id": "env", "type": "SELECT", "displayName": "Environment",
         "description": "where", "values": ["dev"], "allowCustomValue": True,
         "required": False, "defaults": "dev"}
    )  # fmt: skip
    assert declared.display_name == "Environment"
    assert declared.allow_custom_value is True
    assert declared.type is InputType.SELECT
    array = InputSpec.model_validate({"id": "a", "type": "ARRAY", "itemType": "FLOAT"})
    assert array.item_type is InputType.FLOAT


def test_input_spec_rejects_unknown_type_listing_valid_ones():
    with pytest.raises(ValidationError) as err:
        spec(id="f", type="FILE")
    message = str(err.value)
    assert "unknown input type 'FILE'" in message
    for name in ["STRING", "INT", "DATETIME", "MULTISELECT", "YAML", "EMAIL"]:
        assert name in message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"id": "x", "type": "INT", "prefill": 1}, "Extra inputs are not permitted"),
        ({"id": "x y", "type": "INT"}, "should match pattern"),
        (
            {"id": "x", "type": "INT", "validator": "\\d+"},
            "validator applies only to STRING",
        ),
        (
            {"id": "x", "type": "STRING", "min": 1},
            "min applies only to DURATION, FLOAT, INT",
        ),
        ({"id": "x", "type": "STRING", "min": 0}, "min applies only to DURATION"),
        (
            {"id": "x", "type": "INT", "after": "2024-01-01"},
            "after applies only to DATE",
        ),
        (
            {"id": "x", "type": "STRING", "itemType": "INT"},
            "itemType applies only to ARRAY",
        ),
        (
            {"id": "x", "type": "BOOL", "allowCustomValue": True},
            "allowCustomValue applies",
        ),
        ({"id": "x", "type": "SELECT"}, "values is required for SELECT"),
        ({"id": "x", "type": "MULTISELECT", "values": []}, "values is required"),
        ({"id": "x", "type": "ARRAY"}, "itemType must be one of"),
        ({"id": "x", "type": "ARRAY", "itemType": "SECRET"}, "itemType must be one of"),
        ({"id": "x", "type": "ARRAY", "itemType": "NOPE"}, "unknown input type 'NOPE'"),
        (
            {"id": "x", "type": "STRING", "validator": "(unclosed"},
            "not a valid regular",
        ),
        ({"id": "x", "type": "DURATION", "min": 5}, "min: got a number"),
        ({"id": "x", "type": "DATE", "before": "soon"}, "before: got 'soon'"),
        ({"id": "x", "type": "INT", "defaults": "five"}, "defaults: got a string"),
        ({"id": "x", "type": "INT", "max": 3, "defaults": 4}, "defaults: 4 is above"),
    ],
)
def test_input_spec_rejects_inconsistent_declarations(raw, fragment):
    with pytest.raises(ValidationError) as err:
        InputSpec.model_validate(raw)
    assert fragment in str(err.value)


def test_input_spec_accepts_yaml_dates_as_bounds_and_defaults():
    raw = yaml.safe_load(
        "id: day\ntype: DATE\nafter: 2024-01-01\ndefaults: 2024-02-01\n"
    )
    declared = InputSpec.model_validate(raw)
    assert validate_inputs([declared], {}) == {"day": "2024-02-01"}


# --- durations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT5M", timedelta(minutes=5)),
        ("P2D", timedelta(days=2)),
        ("P1DT2H3M4.5S", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
        ("-PT1S", timedelta(seconds=-1)),
        ("PT0,25S", timedelta(seconds=0.25)),
    ],
)
def test_parse_duration_reads_java_iso_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "P1W", "P1Y", "5M", "PT1.S", ""])
def test_parse_duration_rejects_other_text(text):
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(hours=26, minutes=5, seconds=0.5), "PT26H5M0.5S"),
        (timedelta(minutes=-5), "-PT5M"),
        (timedelta(microseconds=1), "PT0.000001S"),
    ],
)
def test_format_duration_prints_like_java(delta, text):
    assert format_duration(delta) == text


@given(st.timedeltas(min_value=timedelta(days=-9999), max_value=timedelta(days=9999)))
def test_format_then_parse_duration_round_trips(delta):
    assert parse_duration(format_duration(delta)) == delta
