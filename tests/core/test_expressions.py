"""Rendering `{{ … }}` in flow values: native types, strictness, secrets, sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.core.errors import ExpressionError, SecretNotFoundError, StorageError
from sluice.core.expressions import Renderer, check_syntax, is_template, truthy

NOW = datetime(2024, 1, 31, 22, 30, 5, 123456, tzinfo=UTC)
SECRETS = {"TOKEN": "s3cr3t-value", "OTHER": "other-value"}


def _lookup(name: str) -> str | None:
    if name == "BROKEN":
        raise SecretNotFoundError("provider says no")
    return SECRETS.get(name)


def _read(uri: str) -> bytes:
    if uri == "storage://ns/f/e/t/data.txt":
        return "héllo\n".encode()
    raise StorageError(f"no file at {uri}")


@pytest.fixture
def renderer() -> Renderer:
    return Renderer(secret_lookup=_lookup, read_file=_read, now=lambda: NOW)


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {
        "inputs": {"n": "123", "count": 3, "flag": True, "off": False, "nothing": None,
                   "ratio": 0.5, "items": [1, 2, 3], "zero": 0, "empty": ""},
        "outputs": {"list": {"keys": ["a.csv", "b.csv"], "items": [], "count": 2},
                    "query": {"rows": [{"id": 1}, {"id": 2}]}},
        "execution": {"id": "ex1", "startDate": "2024-01-31T22:30:05+00:00"},
        "vars": {"bucket": "data", "nested": {"a": {"b": 1}}},
    }  # fmt: skip


# --- native values and text ----------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ outputs.list.keys }}", ["a.csv", "b.csv"]),
        ("{{ outputs.query.rows[1] }}", {"id": 2}),
        ("{{ inputs.count }}", 3),
        ("{{ inputs.ratio }}", 0.5),
        ("{{ inputs.flag }}", True),
        ("{{ inputs.nothing }}", None),
        ("  {{ inputs.count + 1 }}\n", 4),
        ("{{ [1, 'a'] }}", [1, "a"]),
        ("{{ {'k': inputs.count} }}", {"k": 3}),
        ("{{ 1 == 1 }}", True),
        ("{{ inputs.items | map('string') | list }}", ["1", "2", "3"]),
        ("{{ inputs.items | select('odd') }}", [1, 3]),
        ("{{ range(3) }}", [0, 1, 2]),
    ],
)
def test_render_keeps_native_type_when_value_is_one_expression(
    renderer, ctx, template, expected
):
    assert renderer.render(template, ctx) == expected


def test_render_keeps_string_from_variable_as_string_even_when_numeric(renderer, ctx):
    assert renderer.render("{{ inputs.n }}", ctx) == "123"
    assert renderer.render("{{ '[1, 2]' }}", ctx) == "[1, 2]"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("n={{ inputs.count }}", "n=3"),
        ("{{ inputs.flag }}/{{ inputs.off }}", "true/false"),
        ("[{{ inputs.nothing }}]", "[]"),
        ("rows: {{ outputs.query.rows }}", 'rows: [{"id":1},{"id":2}]'),
        ("{{ true }} and {{ none }}", "true and "),
        ("{{ inputs.count }}{{ inputs.count }}", "33"),
        ("at {{ now() }}", "at 2024-01-31T22:30:05.123456+00:00"),
        ("{% for k in outputs.list.keys %}{{ k }};{% endfor %}", "a.csv;b.csv;"),
        ("{% if inputs.flag %}yes{% else %}no{% endif %}", "yes"),
    ],
)
def test_render_mixed_text_prints_values_like_kestra(renderer, ctx, template, expected):
    assert renderer.render(template, ctx) == expected


def test_render_returns_plain_strings_unchanged(renderer, ctx):
    text = "no templates { here } at all"
    assert renderer.render(text, ctx) is text


def test_render_keeps_trailing_newline_of_block_scalars(renderer, ctx):
    assert renderer.render("echo {{ vars.bucket }}\n", ctx) == "echo data\n"


def test_render_walks_dicts_and_lists_and_renders_template_keys(renderer, ctx):
    raw = {
        "bucket": "{{ vars.bucket }}",
        "retries": 3,
        "enabled": True,
        "tags": ["static", "{{ execution.id }}", {"deep": "{{ inputs.count }}"}],
        "{{ vars.bucket }}-key": "v",
    }
    assert renderer.render(raw, ctx) == {
        "bucket": "data",
        "retries": 3,
        "enabled": True,
        "tags": ["static", "ex1", {"deep": 3}],
        "data-key": "v",
    }
    assert raw["bucket"] == "{{ vars.bucket }}"


def test_render_prefers_map_keys_over_dict_methods(renderer, ctx):
    assert renderer.render("{{ outputs.list.items }}", ctx) == []
    assert renderer.render("{{ vars.nested.keys() | list }}", ctx) == ["a"]


def test_render_does_not_leak_set_variables_between_values(renderer, ctx):
    raw = ["{% set x = 1 %}{{ x }}", "{{ x }}"]
    with pytest.raises(ExpressionError, match="'x' is undefined"):
        renderer.render(raw, ctx)


def test_render_never_renders_templates_found_inside_values(renderer):
    ctx = {"trigger": {"body": "{{ secret('TOKEN') }}"}}
    assert renderer.render("{{ trigger.body }}", ctx) == "{{ secret('TOKEN') }}"


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.floats(allow_nan=False, allow_infinity=False),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_render_of_a_variable_returns_the_same_json_value(value):
    renderer = Renderer()
    assert renderer.render("{{ x }}", {"x": value}) == value


@given(st.text().filter(lambda s: "{{" not in s and "{%" not in s))
def test_render_returns_any_text_without_template_unchanged(text):
    assert Renderer().render(text, {}) == text


# --- strictness and errors -----------------------------------------------------------


def test_render_fails_on_undefined_name_and_lists_defined_names(renderer, ctx):
    with pytest.raises(ExpressionError) as err:
        renderer.render("{{ outptus.list }}", ctx)
    message = str(err.value)
    assert "'outptus' is undefined" in message
    assert "outputs" in message
    assert message.endswith("in {{ outptus.list }}")


def test_render_fails_on_missing_attribute_naming_owner_and_keys(renderer, ctx):
    with pytest.raises(ExpressionError) as err:
        renderer.render("{{ outputs.foo.bar }}", ctx)
    assert str(err.value) == (
        "'outputs' has no attribute 'foo' (it has: list, query)"
        " in {{ outputs.foo.bar }}"
    )


def test_render_names_the_right_owner_when_a_key_is_missing_deeper(renderer, ctx):
    with pytest.raises(
        ExpressionError, match=r"'outputs\.list' has no attribute 'size'"
    ):
        renderer.render("size: {{ outputs['list'].size }}", ctx)


def test_render_fails_on_list_index_out_of_range(renderer, ctx):
    with pytest.raises(ExpressionError, match="has no element 5 \\(it has 2 items\\)"):
        renderer.render("{{ outputs.query.rows[5] }}", ctx)


@pytest.mark.parametrize(
    "template",
    [
        "{{ outputs.nope == 1 }}",
        "{% if outputs.nope %}x{% endif %}",
        "{{ outputs.nope | length }}",
        "{{ outputs.nope ~ 'x' }}",
        "{{ [outputs.nope] }}",
        "{{ {'a': outputs.nope} | json }}",
    ],
)
def test_render_fails_whenever_an_undefined_value_is_used(renderer, ctx, template):
    with pytest.raises(ExpressionError, match="'outputs' has no attribute 'nope'"):
        renderer.render(template, ctx)


def test_render_allows_is_defined_and_default_on_missing_values(renderer, ctx):
    assert renderer.render("{{ outputs.nope.deeper is defined }}", ctx) is False
    assert renderer.render("{{ outputs.list is defined }}", ctx) is True
    assert renderer.render("{{ outputs.nope.deeper | default('d') }}", ctx) == "d"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ inputs.count | }}", "syntax error"),
        ("{% if x %}no end", "syntax error"),
        ("{{ inputs | nosuchfilter }}", "No filter named 'nosuchfilter'"),
        ("{{ 'abc' | fromJson }}", "JSONDecodeError"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ inputs.count + 'a' }}", "TypeError"),
        ("{{ now }}", "not JSON data"),
    ],
)
def test_render_reports_failures_as_expression_error_quoting_the_source(
    renderer, ctx, template, fragment
):
    with pytest.raises(ExpressionError) as err:
        renderer.render(template, ctx)
    assert fragment in str(err.value)
    assert template.strip() in str(err.value)


def test_render_error_in_long_template_shows_the_failing_line(renderer, ctx):
    script = "set -e\n" + "echo ok\n" * 30 + "echo {{ inputs.missing_one }}\n"
    with pytest.raises(ExpressionError) as err:
        renderer.render(script, ctx)
    assert "line 32 of the template: echo {{ inputs.missing_one }}" in str(err.value)


# --- sandbox -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ secret.__self__ }}",
        "{{ now.__func__ }}",
        "{{ inputs.items.append(4) }}",
        "{{ inputs.__len__() }}",
    ],
)
def test_render_sandbox_blocks_internals_and_mutation(renderer, ctx, template):
    with pytest.raises(ExpressionError, match="not allowed in the sandbox"):
        renderer.render(template, ctx)
    assert ctx["inputs"]["items"] == [1, 2, 3]


# --- secrets -------------------------------------------------------------------------


def test_secret_returns_value_and_records_it_once(renderer, ctx):
    found: list[str] = []
    out = renderer.render(
        {"a": "Bearer {{ secret('TOKEN') }}", "b": "{{ secret('TOKEN') }}"},
        ctx,
        secrets=found,
    )
    assert out == {"a": "Bearer s3cr3t-value", "b": "s3cr3t-value"}
    assert found == ["s3cr3t-value"]


def test_secret_appends_to_values_already_known(renderer, ctx):
    found = ["known-before"]
    renderer.render("{{ secret('OTHER') }}", ctx, secrets=found)
    assert found == ["known-before", "other-value"]


@pytest.mark.parametrize("name", ["NOPE", "BROKEN"])
def test_secret_missing_fails_naming_it(renderer, ctx, name):
    with pytest.raises(ExpressionError, match=f"secret '{name}' is not defined"):
        renderer.render(f"{{{{ secret('{name}') }}}}", ctx)


def test_secret_fails_when_no_provider_is_configured(ctx):
    with pytest.raises(ExpressionError, match="secret 'TOKEN' is not defined"):
        Renderer().render("{{ secret('TOKEN') }}", ctx)


def test_render_error_never_contains_a_secret_value(renderer, ctx):
    found: list[str] = []
    with pytest.raises(ExpressionError) as err:
        renderer.render("{{ secret('TOKEN') | date('yyyy') }}", ctx, secrets=found)
    assert "s3cr3t-value" not in str(err.value)
    assert "******" in str(err.value)
    assert err.value.__cause__ is None
    assert found == ["s3cr3t-value"]


def test_render_error_masks_values_the_caller_marked_secret(renderer):
    ctx = {"inputs": {"password": "hunter22"}}
    with pytest.raises(ExpressionError) as err:
        renderer.render("{{ inputs.password | fromJson }}", ctx, secrets=["hunter22"])
    assert "hunter22" not in str(err.value)


# --- functions and filters -----------------------------------------------------------


def test_now_uses_the_clock_and_accepts_a_time_zone(renderer, ctx):
    assert renderer.render("{{ now() }}", ctx) == "2024-01-31T22:30:05.123456+00:00"
    assert renderer.render(
        "{{ now('Europe/Paris') | date('yyyy-MM-dd HH:mm') }}", ctx
    ) == ("2024-01-31 23:30")


def test_now_fails_without_a_clock(ctx):
    with pytest.raises(ExpressionError, match="no clock"):
        Renderer().render("{{ now() }}", ctx)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ now() | date('yyyy-MM-dd') }}", "2024-01-31"),
        (
            "{{ now() | date(\"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\") }}",
            "2024-01-31T22:30:05.123Z",
        ),
        ("{{ now() | date('EEE d MMM yy, h a') }}", "Wed 31 Jan 24, 10 PM"),
        ("{{ now() | date('%Y/%m/%d') }}", "2024/01/31"),
        ("{{ now() | date }}", "2024-01-31T22:30:05.123456+00:00"),
        ("{{ now() | date('HH:mm', timeZone='Asia/Tokyo') }}", "07:30"),
        ("{{ execution.startDate | date('yyyyMMdd') }}", "20240131"),
        ("{{ 0 | date('yyyy-MM-dd HH:mm') }}", "1970-01-01 00:00"),
        ("{{ now() | dateAdd(-1, 'DAYS') | date('yyyy-MM-dd') }}", "2024-01-30"),
        ("{{ now() | dateAdd(1, 'MONTHS') | date('yyyy-MM-dd') }}", "2024-02-29"),
        ("{{ now() | dateAdd(2, 'HOURS') | date('yyyy-MM-dd HH') }}", "2024-02-01 00"),
        ("{{ now() | dateAdd(-1, 'YEAR') | date('yyyy-MM-dd') }}", "2023-01-31"),
        ("{{ now() | dateAdd(90, 'minutes') }}", "2024-02-01T00:00:05.123456+00:00"),
    ],
)
def test_date_filters_format_and_shift_like_kestra(renderer, ctx, template, expected):
    assert renderer.render(template, ctx) == expected


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ now() | dateAdd(1, 'FORTNIGHTS') }}", "unknown unit 'FORTNIGHTS'"),
        ("{{ now() | date('yyyy QQ') }}", "letter 'Q' is not supported"),
        ("{{ [1] | date }}", "expected a date"),
    ],
)
def test_date_filters_reject_what_they_cannot_do(renderer, ctx, template, fragment):
    with pytest.raises(ExpressionError, match=fragment):
        renderer.render(template, ctx)


def test_read_returns_file_text_from_storage(renderer, ctx):
    assert (
        renderer.render("{{ read('storage://ns/f/e/t/data.txt') }}", ctx) == "héllo\n"
    )


def test_read_fails_with_storage_message_or_without_storage(renderer, ctx):
    with pytest.raises(ExpressionError, match="no file at storage://x"):
        renderer.render("{{ read('storage://x') }}", ctx)
    with pytest.raises(ExpressionError, match="no storage"):
        Renderer().render("{{ read('storage://x') }}", ctx)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ outputs.query.rows | json }}", '[{"id":1},{"id":2}]'),
        ("{{ outputs.query.rows | toJson }}", '[{"id":1},{"id":2}]'),
        ("{{ vars.nested | tojson(indent=1) }}", '{\n "a": {\n  "b": 1\n }\n}'),
        ("{{ {'t': now()} | toJson }}", '{"t":"2024-01-31T22:30:05.123456+00:00"}'),
        ("{{ '{\"a\": [1]}' | fromJson }}", {"a": [1]}),
        ("{{ '[1]' | fromjson }}", [1]),
        ("{{ json('{\"a\": 1}').a }}", 1),
        ("{{ fromJson('[true]') | first }}", True),
        ("{{ vars.nested | keys }}", ["a"]),
        ("{{ vars.nested | values }}", [{"b": 1}]),
        ("{{ outputs.list.keys | first }}", "a.csv"),
        ("{{ outputs.list.keys | join(',') | upper }}", "A.CSV,B.CSV"),
        ("{{ inputs.missing | default('x') }}", "x"),
    ],
)
def test_json_and_collection_filters(renderer, ctx, template, expected):
    assert renderer.render(template, ctx) == expected


# --- Kestra's ?? ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.missing ?? 'fallback' }}", "fallback"),
        ("{{ outputs.nope.deep.er ?? 'fallback' }}", "fallback"),
        ("{{ inputs.nothing ?? 'fallback' }}", "fallback"),
        ("{{ inputs.zero ?? 5 }}", 0),
        ("{{ inputs.empty ?? 'x' }}", ""),
        ("{{ inputs.off ?? true }}", False),
        ("{{ inputs.a ?? inputs.b ?? inputs.count }}", 3),
        ("{{ inputs.nothing ??? 'x' }}", None),
        ("{{ inputs.missing ??? 'x' }}", "x"),
        ("{{ [inputs.a ?? 1, inputs.count ?? 2] }}", [1, 3]),
        ("{{ {'k': inputs.a ?? 'v'} }}", {"k": "v"}),
        ("{{ (inputs.a ?? 'x') ~ '!' }}", "x!"),
        ("{{ inputs.a ?? 'x' | upper }}", "X"),
        ("{{ 'what??' }} ?? {{ inputs.a ?? 'b' }}", "what?? ?? b"),
        ("{%- if inputs.a ?? true -%} yes {%- endif %}", "yes"),
        ("{% set v = inputs.a ?? 7 %}{{ v }}", "7"),
        ("{% for i in inputs.a ?? [1, 2] %}{{ i }}{% endfor %}", "12"),
        ("{% raw %}{{ a ?? b }}{% endraw %}", "{{ a ?? b }}"),
        ("{# a ?? b #}{{ inputs.a ?? 'c' }}", "c"),
    ],
)
def test_null_coalescing_operator_works_like_kestra(renderer, ctx, template, expected):
    assert renderer.render(template, ctx) == expected


def test_null_coalescing_does_not_hide_errors_on_the_right(renderer, ctx):
    with pytest.raises(ExpressionError, match="'inputs' has no attribute 'b'") as err:
        renderer.render("{{ inputs.a ?? inputs.b }}", ctx)
    assert "{{ inputs.a ?? inputs.b }}" in str(err.value)


# --- conditions, syntax checks -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False), (False, False), (0, False), (-0.0, False), (0.0, False),
        ("", False), ("false", False), ("FALSE", False), (" False\n", False),
        ("0", False), ("-0", False), ([], False), ({}, False),
        (True, True), (1, True), (-1, True), (0.1, True), ("true", True),
        ("no", True), ("null", True), ("0.0", True), ([0], True), ({"a": None}, True),
    ],
)  # fmt: skip
def test_truthy_follows_kestra_if_rules(value, expected):
    assert truthy(value) is expected


@given(st.text())
def test_truthy_of_text_is_false_only_for_kestra_false_words(text):
    assert truthy(text) is (text.strip().lower() not in {"", "false", "0", "-0"})


@given(st.integers() | st.floats(allow_nan=False))
def test_truthy_of_number_is_whether_it_is_nonzero(number):
    assert truthy(number) is (number != 0)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("{{ outputs.list.count > 1 }}", True),
        ("{{ outputs.list.count > 5 }}", False),
        ("{{ outputs.list.items }}", False),
        ("{{ inputs.zero }}", False),
        ("{{ inputs.flag }} ", True),
        ("{{ inputs.off }}\n", False),
        ("false", False),
        (True, True),
        (False, False),
    ],
)
def test_evaluate_condition_renders_then_applies_truthy(
    renderer, ctx, condition, expected
):
    assert renderer.evaluate_condition(condition, ctx) is expected


def test_check_syntax_reports_every_bad_template_with_its_path():
    raw = {
        "id": "t",
        "message": "{{ inputs.x | }}",
        "headers": {"ok": "{{ undefined_is_fine_here }}", "bad": "{% if x %}"},
        "items": ["fine", "{{ x | nofilter }}"],
        "{{ k": "v",
    }
    found = dict(check_syntax(raw))
    assert set(found) == {"message", "headers.bad", "items[1]", "{{ k"}
    assert "syntax error" in found["message"]
    assert "nofilter" in found["items[1]"]


def test_check_syntax_accepts_valid_templates_and_non_templates():
    assert check_syntax({"a": ["{{ a ?? b }}", 1, None, {"b": "x {{ y }}"}]}) == []
    assert check_syntax("{{ a }}") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [("{{ x }}", True), ("{% if %}", True), ("plain", False), ("{ x }", False),
     (3, False), (None, False), (["{{ x }}"], False)],
)  # fmt: skip
def test_is_template_detects_expressions_and_blocks(value, expected):
    assert is_template(value) is expected


# --- edges ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ now() - (now() | dateAdd(-90, 'MINUTES')) }}", "PT1H30M"),
        ("{{ now().date() }}", "2024-01-31"),
        ("{{ now().date() | date('yyyy/MM') }}", "2024/01"),
        ("{{ '2024-01-01T10:00:00' | date('HH:mm[X]') }}", "10:00[]"),
        ("{{ now('Asia/Kolkata') | date('XXX|xx|Z|X') }}", "+05:30|+0530|+0530|+05"),
        ("{{ now() | date('XXX|xxx|ZZZZZ') }}", "Z|+00:00|Z"),
        ("{{ now() | date(\"h 'o''clock' a, D\") }}", "10 o'clock PM, 31"),
    ],
)
def test_render_handles_durations_dates_and_offsets(renderer, ctx, template, expected):
    assert renderer.render(template, ctx) == expected


def test_render_returns_plain_str_for_markup_results(renderer, ctx):
    result = renderer.render("{{ vars.bucket | safe }}", ctx)
    assert result == "data"
    assert type(result) is str


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ inputs.n.size }}", "'inputs.n' has no attribute 'size'"),
        ("{{ outputs[inputs.n].x }}", "this dict has no attribute '123'"),
        (
            "{% for r in outputs.query.rows %}{{ r.nope }}{% endfor %}",
            "'r' has no attribute 'nope' (it has: id)",
        ),
        (
            "{{ fromJson('{}').nope }}",
            "this dict has no attribute 'nope' (it is empty)",
        ),
    ],
)
def test_render_names_missing_values_as_written_in_the_template(
    renderer, ctx, template, message
):
    with pytest.raises(ExpressionError) as err:
        renderer.render(template, ctx)
    assert str(err.value).startswith(message)


def test_render_error_in_long_single_line_is_shortened(renderer, ctx):
    template = "x" * 300 + "{{ nope }}"
    with pytest.raises(ExpressionError) as err:
        renderer.render(template, ctx)
    assert str(err.value).endswith("x" * 40 + "…")


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{% with x = a ?? 1 %}{{ x }}{% endwith %}", "`??` works in"),
        ("{{ (a ?? b }}", "syntax error"),
        ("{{ a ?? b) }}", "syntax error"),
        ("{{ 1 }}{# a ?? b", "syntax error"),
    ],
)
def test_null_coalescing_in_unsupported_places_is_a_syntax_error(
    renderer, template, fragment
):
    with pytest.raises(ExpressionError, match=fragment):
        renderer.render(template, {})
