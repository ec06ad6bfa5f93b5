"""Every validation error of the node's config: field, label, and an actionable message."""

from __future__ import annotations

from typing import Any

import pytest

from sesclient.node import FieldError, NodeConfigError, validate
from sesclient.node._validate import load_config

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRETzz"

BASE: dict[str, Any] = {
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "secret:ses-production",
    "from": "Shop <orders@example.com>",
    "to": "a@example.com, b@example.com",
    "subject": "Your order",
    "body": "Thanks!",
}
TEMPLATED: dict[str, Any] = {
    **{k: v for k, v in BASE.items() if k not in ("subject", "body")},
    "template_name": "OrderShipped",
    "template_variables": {"firstName": "{{trigger.customer_name}}"},
}


def errors_for(config: dict[str, Any]) -> list[FieldError]:
    errors = validate(config)
    for error in errors:
        assert SECRET not in str(error) and SECRET not in repr(error)
    return errors


def only_error(config: dict[str, Any], field: str, *fragments: str) -> FieldError:
    errors = errors_for(config)
    assert len(errors) == 1, errors
    (error,) = errors
    assert error.field == field
    for fragment in fragments:
        assert fragment in error.message, error.message
    return error


def test_valid_configs_have_no_errors() -> None:
    assert validate(BASE) == []
    assert validate(TEMPLATED) == []
    assert validate({**BASE, "endpoint_version": "v1", "location": "ap-northeast-1"}) == []
    assert validate({**BASE, "endpoint_version": "SESv1 (Classic)"}) == []
    assert validate({**BASE, "endpoint_url": "http://127.0.0.1:8005"}) == []
    assert validate({**BASE, "secret_access_key": {"secret": "ses-production"}}) == []
    assert validate({**BASE, "to": ["a@example.com", "b@example.com"]}) == []
    assert validate({**BASE, "to": '"Doe, Jane" <jane@example.com>, b@example.com'}) == []
    assert validate({**BASE, "from": "{{trigger.sender}}", "to": "{{trigger.emails}}"}) == []
    assert validate({**BASE, "body_format": "html", "missing_values": "empty"}) == []


def test_error_shape() -> None:
    error = only_error({**BASE, "from": ""}, "from", "required")
    assert error.label == "From"
    assert str(error).startswith("From: required")
    assert error.to_dict() == {"field": "from", "label": "From", "message": error.message}


def test_config_must_be_an_object() -> None:
    (error,) = validate(["not", "a", "dict"])  # type: ignore[arg-type]
    assert "must be an object" in error.message


def test_unknown_field() -> None:
    only_error({**BASE, "subjet": "typo"}, "subjet", "no field 'subjet'", "subject")


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("access_key_id", "AWS SES Key ID"),
        ("secret_access_key", "AWS Secret Access Key"),
        ("from", "From"),
        ("to", "To"),
        ("subject", "Subject"),
        ("body", "Body"),
    ],
)
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_required_fields(field: str, label: str, empty: Any) -> None:
    config = {**BASE, field: empty}
    error = only_error(config, field, "required")
    assert error.label == label
    del config[field]
    assert only_error(config, field, "required").label == label


def test_to_with_only_separators_is_missing() -> None:
    only_error({**BASE, "to": " , ,"}, "to", "at least one recipient")


def test_defaults_fill_selects() -> None:
    config = load_config(BASE)
    assert (config.api, config.region, config.missing) == ("v2", "us-east-1", "error")
    assert load_config({**BASE, "endpoint_version": "", "location": None}).api == "v2"


@pytest.mark.parametrize(
    "value", ["AKIA", "AKIA IOSFODNN7EXAMPLE", "AKIA-IOSFODNN7EXAMPLE", "A" * 129]
)
def test_access_key_id_shape(value: str) -> None:
    only_error({**BASE, "access_key_id": value}, "access_key_id", "16 to 128 letters and digits")


def test_access_key_id_must_be_text() -> None:
    only_error({**BASE, "access_key_id": 12345}, "access_key_id", "as text")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (SECRET, "not the key itself"),
        ("ses-production", "not the key itself"),
        ("secret:" + SECRET, "looks like a secret access key itself"),
        ({"secret": SECRET}, "looks like a secret access key itself"),
        ({"secret": "ses", "value": SECRET}, '{"secret": "<name of the stored secret>"}'),
        ({"name": SECRET}, '{"secret": "<name of the stored secret>"}'),
        ({"secret": 7}, "must be text"),
        ("secret:", "1 to 128 letters"),
        ("secret:bad name!", "1 to 128 letters"),
        (12345, '"secret:<name>"'),
    ],
)
def test_secret_reference_errors_never_repeat_the_value(value: Any, fragment: str) -> None:
    error = only_error({**BASE, "secret_access_key": value}, "secret_access_key", fragment)
    assert error.label == "AWS Secret Access Key"
    assert "bad name" not in error.message


@pytest.mark.parametrize("value", ["v3", "SESv3", "sesv2 api", 2])
def test_endpoint_version(value: Any) -> None:
    only_error(
        {**BASE, "endpoint_version": value}, "endpoint_version", "SESv2 (API) or SESv1 (Classic)"
    )


def test_endpoint_version_labels_are_accepted() -> None:
    assert load_config({**BASE, "endpoint_version": "SESv1 (Classic)"}).api == "v1"
    assert load_config({**BASE, "endpoint_version": "sesv2 (api)"}).api == "v2"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("eu-north-1", "choose one of us-east-1, us-east-2"),
        ("moon-1", "choose one of"),
        ("US-EAST-2", "did you mean us-east-2?"),
        ("Europe (Frankfurt)", "did you mean eu-central-1?"),
    ],
)
def test_location(value: str, fragment: str) -> None:
    only_error({**BASE, "location": value}, "location", fragment)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("orders", "not a valid email address"),
        ("orders@", "not a valid email address"),
        ("a@example.com, b@example.com", "exactly one address"),
        ("Shop <orders@example.com", "not a valid email address"),
        ("orders@example.com\r\nBcc: x@evil.example", "single line"),
        ("{{trigger.from", "never closes"),
        ("{{ }}", "is empty"),
        (42, "enter text"),
    ],
)
def test_from(value: Any, fragment: str) -> None:
    only_error({**BASE, "from": value}, "from", fragment)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("a@example.com, nope", "entry 2 of the list: 'nope' is not a valid email address"),
        ("a@example.com,\nb@example.com", "single line"),
        ("{{trigger.to[x]}}", "not a valid path"),
        ({"a": "b"}, "enter text"),
    ],
)
def test_to(value: Any, fragment: str) -> None:
    only_error({**BASE, "to": value}, "to", fragment)


def test_to_at_most_fifty() -> None:
    many = ", ".join(f"user{i}@example.com" for i in range(51))
    only_error({**BASE, "to": many}, "to", "51 addresses", "at most 50")
    assert validate({**BASE, "to": many.rsplit(",", 1)[0]}) == []


def test_to_checks_literal_entries_next_to_expressions() -> None:
    only_error({**BASE, "to": "{{trigger.email}}, bad@"}, "to", "entry 2")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("Order Shipped", "letters, digits, '_' and '-'"),
        ("x" * 65, "at most 64 characters"),
        ("{{trigger.template", "never closes"),
    ],
)
def test_template_name(value: str, fragment: str) -> None:
    only_error({**TEMPLATED, "template_name": value}, "template_name", fragment)


def test_template_name_from_an_expression_is_checked_at_run_time() -> None:
    assert validate({**TEMPLATED, "template_name": "{{trigger.template}}"}) == []


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("firstName=Ann", "name/value pairs"),
        (["firstName"], "row 1 must be a pair"),
        ([{"key": "a", "value": "1"}, {"name": "b"}], "row 2 must be a pair"),
        ({"first name": "x"}, "'first name' is not usable"),
        ({"1st": "x"}, "'1st' is not usable"),
        ([{"key": "a", "value": "1"}, {"key": "a", "value": "2"}], "'a' is given twice"),
        ({"items": ["a", "b"]}, "must be text (expressions allowed)"),
        ({"name": "{{trigger.name"}, "variable 'name': '{{trigger.name' opens an expression"),
    ],
)
def test_template_variables(value: Any, fragment: str) -> None:
    only_error({**TEMPLATED, "template_variables": value}, "template_variables", fragment)


def test_template_variables_forms() -> None:
    as_list = [{"key": "firstName", "value": "{{trigger.customer_name}}"}, {"key": "n", "value": 3}]
    loaded = load_config({**TEMPLATED, "template_variables": as_list})
    assert [name for name, _ in loaded.template_variables] == ["firstName", "n"]
    assert loaded.template_variables[1] == ("n", 3)
    assert load_config({**TEMPLATED, "template_variables": None}).template_variables == ()


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("subject", "Hello\nworld", "single line"),
        ("subject", "Hi {{trigger.name", "never closes"),
        ("subject", ["x"], "enter text"),
        ("body", "Dear {{ trigger.name }", "never closes"),
        ("body", "{{trigger..name}}", "not a valid path"),
        ("body", "{{1abc}}", "must start with a name"),
    ],
)
def test_subject_and_body(field: str, value: Any, fragment: str) -> None:
    only_error({**BASE, field: value}, field, fragment)


def test_body_may_span_lines() -> None:
    assert validate({**BASE, "body": "line one\r\nline two\n"}) == []


@pytest.mark.parametrize(
    ("field", "value"), [("body_format", "markdown"), ("missing_values", "skip")]
)
def test_other_selects(field: str, value: str) -> None:
    only_error({**BASE, field: value}, field, "is not one of the choices; choose one of")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("ftp://127.0.0.1:8005", "must start with http:// or https://"),
        ("http://127.0.0.1:8005/?x=1", "query string"),
        ("http://user:hunter2@127.0.0.1:8005", "user information"),
        ("http://", "no valid host"),
        (8005, "as text"),
    ],
)
def test_endpoint_url(value: Any, fragment: str) -> None:
    error = only_error({**BASE, "endpoint_url": value}, "endpoint_url", fragment)
    assert "hunter2" not in error.message


def test_every_problem_is_reported_at_once() -> None:
    config = {
        "access_key_id": "short",
        "secret_access_key": SECRET,
        "endpoint_version": "v9",
        "location": "mars-1",
        "from": "nobody",
        "to": "",
        "subject": "",
    }
    fields = [e.field for e in errors_for(config)]
    assert fields == [
        "access_key_id",
        "secret_access_key",
        "endpoint_version",
        "location",
        "from",
        "to",
        "subject",
        "body",
    ]
    with pytest.raises(NodeConfigError) as caught:
        load_config(config)
    error = caught.value
    assert [e.field for e in error.errors] == fields
    assert error.code == "InvalidConfig"
    assert error.field == "AWS SES Key ID"
    assert "(and 7 more)" in error.message
    assert len(error.to_dict()["errors"]) == 8
    for text in (str(error), repr(error), repr(error.to_dict())):
        assert SECRET not in text


@pytest.mark.parametrize(
    ("body", "body_format", "is_html"),
    [
        ("<p>Hello {{trigger.name}}</p>", None, True),
        ("<!DOCTYPE html><html><body>Hi</body></html>", None, True),
        ("Hi,<br>thanks", "auto", True),
        ("Write to Shop <orders@example.com> if 1 < 2 > 0", None, False),
        ("{{trigger.html}}", None, False),
        ("{{trigger.html}}", "html", True),
        ("<p>shown as text</p>", "text", False),
    ],
)
def test_body_format(body: str, body_format: str | None, is_html: bool) -> None:
    config = {**BASE, "body": body}
    if body_format:
        config["body_format"] = body_format
    assert load_config(config).body_is_html is is_html


def test_template_mode_drops_subject_and_body() -> None:
    loaded = load_config({**TEMPLATED, "subject": "ignored", "body": "ignored"})
    assert loaded.subject is None and loaded.body is None and loaded.body_is_html is False
    assert load_config({**BASE, "template_variables": {"a": "b"}}).template_variables == ()
