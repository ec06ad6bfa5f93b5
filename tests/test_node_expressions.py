"""``{{...}}`` expressions, and filling a config with a run's data."""

from __future__ import annotations

from typing import Any

import pytest

from sesclient.node import ExpressionSyntaxError, MissingValueError, NodeError
from sesclient.node._expressions import (
    Expression,
    parse_template,
    render,
    render_native,
    resolve,
    stringify,
)
from sesclient.node._render import render_email
from sesclient.node._validate import load_config

CONTEXT: dict[str, Any] = {
    "trigger": {
        "customer_name": "Ann",
        "email": "ann@example.com",
        "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
        "tags": ["new", "vip"],
        "first name": "Ann Lee",
        "nested": {"deep": {"er": "yes"}},
        "nothing": None,
        "flag": True,
        "price": 9.5,
        "count": 3,
        "evil": "{{trigger.customer_name}}",
        "multiline": "line one\r\nBcc: victim@example.com",
        "lf": "a\nb",
        "recipients": ["x@example.com", "Y <y@example.com>"],
        "csv": "p@example.com, q@example.com",
    },
    "workflow": {"last_order_id": 10042},
}


def fill(text: str, **kw: Any) -> str:
    return render(parse_template(text), CONTEXT, **kw)


# -- parsing ---------------------------------------------------------------------------


def test_parse_splits_literals_and_expressions() -> None:
    template = parse_template("Hi {{ trigger.customer_name }}, order {{workflow.last_order_id}}!")
    assert template.parts[0] == "Hi "
    assert template.parts[1] == Expression(
        "{{ trigger.customer_name }}", ("trigger", "customer_name")
    )
    assert template.parts[2] == ", order "
    assert template.parts[3].path == ("workflow", "last_order_id")
    assert template.parts[4] == "!"
    assert not template.is_literal
    assert parse_template("plain").is_literal


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ("{{trigger.items[0].sku}}", ("trigger", "items", 0, "sku")),
        ("{{trigger.items.0.sku}}", ("trigger", "items", "0", "sku")),
        ("{{trigger[ 1 ]}}", ("trigger", 1)),
        ('{{trigger["first name"]}}', ("trigger", "first name")),
        ("{{trigger['it''s']}}", None),
        ("{{trigger['a\\'b']}}", ("trigger", "a'b")),
        ("{{$json.x-y}}", ("$json", "x-y")),
    ],
)
def test_paths(source: str, path: tuple | None) -> None:
    if path is None:
        with pytest.raises(ExpressionSyntaxError):
            parse_template(source)
        return
    (expression,) = parse_template(source).parts
    assert expression.path == path


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Hi {{trigger.name", "never closes"),
        ("{{{trigger.name}}", "never closes"),
        ("{{}}", "is empty"),
        ("{{ 9lives }}", "must start with a name"),
        ("{{trigger.}}", "not a valid path"),
        ("{{trigger name}}", "not a valid path"),
        ("{{trigger[-1]}}", "not a valid path"),
        ("{{a + b}}", "not a valid path"),
    ],
)
def test_syntax_errors(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_template(text)
    assert fragment in str(caught.value)
    assert caught.value.expression


def test_escape_and_lone_braces() -> None:
    assert fill(r"literal \{{trigger.customer_name}} and {{trigger.customer_name}}") == (
        "literal {{trigger.customer_name}} and Ann"
    )
    assert fill("a } b }} c { d") == "a } b }} c { d"


# -- resolving and rendering -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{trigger.customer_name}}", "Ann"),
        ("#{{workflow.last_order_id}}", "#10042"),
        ("{{trigger.items[1].sku}}", "B-2"),
        ("{{trigger.items.1.sku}}", "B-2"),
        ("{{trigger.items[0].qty}}", "2"),
        ('{{trigger["first name"]}}', "Ann Lee"),
        ("{{trigger.nested.deep.er}}", "yes"),
        ("[{{trigger.nothing}}]", "[]"),
        ("{{trigger.flag}}", "true"),
        ("{{trigger.price}}", "9.5"),
        ("{{trigger.tags}}", "new, vip"),
        ("{{trigger.nested}}", '{"deep":{"er":"yes"}}'),
        ("{{trigger.items[1]}}", '{"sku":"B-2","qty":1}'),
    ],
)
def test_render(text: str, expected: str) -> None:
    assert fill(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{trigger.customer}}", "{{trigger.customer}}: trigger has no 'customer'"),
        ("{{trigger.items[5].sku}}", "trigger.items has 2 item(s), so there is no index 5"),
        ("{{trigger.items.sku}}", "trigger.items is a list; use an index"),
        ("{{trigger.customer_name.first}}", "trigger.customer_name is a text value"),
        ("{{trigger.nothing.x}}", "trigger.nothing is empty (null)"),
        ("{{steps.x}}", "the run data has no 'steps'"),
    ],
)
def test_missing_path_is_an_error_naming_the_expression(text: str, fragment: str) -> None:
    with pytest.raises(MissingValueError) as caught:
        fill(text)
    assert fragment in str(caught.value)
    assert caught.value.expression in text


def test_missing_path_may_render_empty() -> None:
    assert fill("a{{trigger.customer}}b{{trigger.items[9]}}c", missing="empty") == "abc"


def test_data_is_never_read_as_an_expression() -> None:
    assert fill("{{trigger.evil}}") == "{{trigger.customer_name}}"
    assert fill("{{{trigger.evil}}}") == "{{trigger.customer_name}}"
    value = render_native(parse_template("{{trigger.evil}}"), CONTEXT)
    assert value == "{{trigger.customer_name}}"


def test_escape_applies_to_double_braces_only() -> None:
    import html

    context = {"d": {"x": "<b>&</b>"}}
    template = parse_template("{{d.x}}|{{{d.x}}}")
    assert render(template, context, escape=html.escape) == "&lt;b&gt;&amp;&lt;/b&gt;|<b>&</b>"
    assert render(template, context) == "<b>&</b>|<b>&</b>"


def test_render_native_keeps_types_of_a_single_expression() -> None:
    assert (
        render_native(parse_template("{{trigger.items}}"), CONTEXT) == CONTEXT["trigger"]["items"]
    )
    assert render_native(parse_template(" {{workflow.last_order_id}} "), CONTEXT) == 10042
    assert render_native(parse_template("#{{workflow.last_order_id}}"), CONTEXT) == "#10042"
    assert render_native(parse_template("{{trigger.nothing}}"), CONTEXT) == ""
    assert render_native(parse_template("{{trigger.no}}"), CONTEXT, missing="empty") == ""
    with pytest.raises(MissingValueError):
        render_native(parse_template("{{trigger.no}}"), CONTEXT)


def test_stringify_and_resolve() -> None:
    assert stringify(False) == "false"
    assert stringify([1, None, "a"]) == "1, , a"
    assert stringify({"é": [1]}) == '{"é":[1]}'
    (expression,) = parse_template("{{trigger.items[0]}}").parts
    assert resolve(expression, CONTEXT) is CONTEXT["trigger"]["items"][0]
    assert expression.dotted == "trigger.items[0]"


# -- a whole email ---------------------------------------------------------------------

BASE: dict[str, Any] = {
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "secret:ses",
    "from": "Shop <orders@example.com>",
    "to": "{{trigger.email}}",
    "subject": "Order {{workflow.last_order_id}} for {{trigger.customer_name}}",
    "body": "Hello {{trigger.customer_name}}, {{trigger.items[0].sku}} ships today.",
}


def email_for(overrides: dict[str, Any], context: Any = CONTEXT) -> Any:
    return render_email(load_config({**BASE, **overrides}), context)


def node_error(overrides: dict[str, Any], context: Any = CONTEXT) -> NodeError:
    with pytest.raises(NodeError) as caught:
        email_for(overrides, context)
    return caught.value


def test_text_email() -> None:
    email = email_for({})
    assert email.from_addr == "Shop <orders@example.com>"
    assert email.to == ("ann@example.com",)
    assert email.subject == "Order 10042 for Ann"
    assert email.text == "Hello Ann, A-1 ships today."
    assert email.html is None
    assert email.send_kwargs() == {
        "from_addr": "Shop <orders@example.com>",
        "to": ["ann@example.com"],
        "subject": "Order 10042 for Ann",
        "text": "Hello Ann, A-1 ships today.",
    }


def test_html_email_gets_a_text_alternative_and_escaped_data() -> None:
    context = {**CONTEXT, "trigger": {**CONTEXT["trigger"], "customer_name": "Ann <3 & co"}}
    email = email_for(
        {"body": "<p>Hello <b>{{trigger.customer_name}}</b></p><p>{{{trigger.customer_name}}}</p>"},
        context,
    )
    assert email.html == "<p>Hello <b>Ann &lt;3 &amp; co</b></p><p>Ann <3 & co</p>"
    assert "Hello Ann <3 & co" in email.text
    assert "<p>" not in email.text and "<b>" not in email.text
    assert email.subject == "Order 10042 for Ann <3 & co"
    assert set(email.send_kwargs()) == {"from_addr", "to", "subject", "text", "html"}


def test_html_in_data_does_not_turn_a_text_body_into_html() -> None:
    context = {**CONTEXT, "trigger": {**CONTEXT["trigger"], "customer_name": "<b>Ann</b>"}}
    email = email_for({}, context)
    assert email.html is None
    assert email.text == "Hello <b>Ann</b>, A-1 ships today."


def test_recipients_from_lists_and_comma_separated_data() -> None:
    assert email_for({"to": "{{trigger.recipients}}"}).to == ("x@example.com", "Y <y@example.com>")
    assert email_for({"to": "{{trigger.csv}}, z@example.com"}).to == (
        "p@example.com",
        "q@example.com",
        "z@example.com",
    )


def test_templated_email_keeps_variable_types() -> None:
    email = email_for(
        {
            "template_name": "Order_{{trigger.items[0].sku}}",
            "template_variables": {
                "firstName": "{{trigger.customer_name}}",
                "orderId": "{{workflow.last_order_id}}",
                "items": "{{trigger.items}}",
                "note": "for {{trigger.customer_name}}",
                "fixed": 7,
                "none": None,
            },
        }
    )
    assert email.template == "Order_A-1"
    assert email.template_data == {
        "firstName": "Ann",
        "orderId": 10042,
        "items": CONTEXT["trigger"]["items"],
        "note": "for Ann",
        "fixed": 7,
        "none": None,
    }
    assert email.subject is None and email.text is None
    assert email.send_kwargs() == {
        "from_addr": "Shop <orders@example.com>",
        "to": ["ann@example.com"],
        "template": "Order_A-1",
        "template_data": email.template_data,
    }


@pytest.mark.parametrize(
    ("field", "label", "value"),
    [
        ("from", "From", "{{trigger.multiline}}"),
        ("to", "To", "{{trigger.multiline}}"),
        ("subject", "Subject", "Re: {{trigger.lf}}"),
    ],
)
def test_line_breaks_from_data_never_reach_a_header(field: str, label: str, value: str) -> None:
    error = node_error({field: value})
    assert error.code == "LineBreakInHeader"
    assert error.field == label
    assert value.split("{{")[1].split("}}")[0] in error.message  # names the expression
    assert "victim" not in error.message and "Bcc" not in str(error)


def test_line_breaks_in_a_body_are_fine() -> None:
    assert email_for({"body": "{{trigger.multiline}}"}).text == CONTEXT["trigger"]["multiline"]


def test_line_breaks_in_template_variables_are_data() -> None:
    email = email_for({"template_name": "T", "template_variables": {"x": "{{trigger.lf}}"}})
    assert email.template_data == {"x": "a\nb"}


@pytest.mark.parametrize(
    ("overrides", "code", "field", "fragment"),
    [
        (
            {"to": "{{trigger.nope}}"},
            "MissingValue",
            "To",
            "{{trigger.nope}}: trigger has no 'nope'",
        ),
        ({"body": "{{trigger.items[7].sku}}"}, "MissingValue", "Body", "no index 7"),
        (
            {"template_name": "T", "template_variables": {"a": "{{workflow.x}}"}},
            "MissingValue",
            "Template Variables",
            "{{workflow.x}}",
        ),
        ({"to": "{{trigger.customer_name}}"}, "InvalidAddress", "To", "'Ann' is not a valid"),
        ({"from": "{{trigger.customer_name}}"}, "InvalidAddress", "From", "'Ann' is not a valid"),
        ({"to": "{{trigger.nothing}}"}, "EmptyValue", "To", "To is empty"),
        ({"from": "{{trigger.nothing}}"}, "EmptyValue", "From", "From is empty"),
        ({"subject": "{{trigger.nothing}}"}, "EmptyValue", "Subject", "Subject is empty"),
        ({"body": " {{trigger.nothing}} "}, "EmptyValue", "Body", "Body is empty"),
        ({"template_name": "{{trigger.nothing}}"}, "EmptyValue", "Template Name", "empty"),
        (
            {"template_name": "{{trigger.customer_name}} {{trigger.count}}"},
            "InvalidTemplateName",
            "Template Name",
            "'Ann 3'",
        ),
    ],
)
def test_run_time_errors(overrides: dict, code: str, field: str, fragment: str) -> None:
    error = node_error(overrides)
    assert (error.code, error.field) == (code, field)
    assert fragment in error.message, error.message
    assert error.hint


def test_too_many_recipients_from_data() -> None:
    context = {"trigger": {"to": [f"u{i}@example.com" for i in range(51)]}}
    error = node_error({"to": "{{trigger.to}}", "subject": "s", "body": "b"}, context)
    assert error.code == "TooManyRecipients"


def test_missing_values_option_renders_empty() -> None:
    email = email_for(
        {"missing_values": "empty", "subject": "Hi {{trigger.nick}}", "body": "x{{a.b}}y"}
    )
    assert (email.subject, email.text) == ("Hi", "xy")


def test_context_must_be_an_object() -> None:
    assert node_error({}, ["not a dict"]).code == "InvalidContext"
    assert email_for({"to": "a@example.com", "subject": "s", "body": "b"}, None).to == (
        "a@example.com",
    )
