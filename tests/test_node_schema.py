"""The node's UI schema and its visibility rules (the single source of truth)."""

from __future__ import annotations

import json

import pytest

from sesclient.node import (
    SESEmailNode,
    evaluate_condition,
    is_required,
    is_visible,
    schema,
    validate,
)

LABELS = [
    "AWS SES Key ID",
    "AWS Secret Access Key",
    "Endpoint Version",
    "Location",
    "From",
    "To",
    "Template Name",
    "Template Variables",
    "Subject",
    "Body",
    "Body Format",
    "Missing Values",
    "Endpoint URL",
]
REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
]
KEYS = ("key", "label", "type", "help", "required", "default", "options", "secret")


def fields() -> dict[str, dict]:
    return {f["key"]: f for f in schema()["fields"]}


def test_schema_is_json_and_lists_the_documented_fields_in_order() -> None:
    doc = schema()
    assert json.loads(json.dumps(doc)) == doc
    assert [f["label"] for f in doc["fields"]] == LABELS
    assert doc["label"] == "Amazon SES Email"
    assert doc["type"] == SESEmailNode.type
    for field in doc["fields"]:
        for key in (*KEYS, "visibility", "expressions", "advanced"):
            assert key in field, (field["key"], key)
        assert field["help"].strip()


def test_required_flags_and_secret_flag() -> None:
    f = fields()
    required = {k for k, v in f.items() if v["required"]}
    assert required == {
        "access_key_id",
        "secret_access_key",
        "endpoint_version",
        "location",
        "from",
        "to",
        "subject",
        "body",
    }
    assert [k for k, v in f.items() if v["secret"]] == ["secret_access_key"]
    assert f["secret_access_key"]["type"] == "secret"
    assert f["template_name"]["required"] is False
    assert f["endpoint_url"]["advanced"] is True
    assert f["access_key_id"]["expressions"] is False
    assert f["secret_access_key"]["expressions"] is False
    text_fields = ["from", "to", "template_name", "template_variables", "subject", "body"]
    assert all(f[k]["expressions"] for k in text_fields)


def test_options() -> None:
    f = fields()
    assert f["endpoint_version"]["options"] == [
        {"value": "v2", "label": "SESv2 (API)"},
        {"value": "v1", "label": "SESv1 (Classic)"},
    ]
    assert f["endpoint_version"]["default"] == "v2"
    assert [o["value"] for o in f["location"]["options"]] == REGIONS
    assert all(o["value"] in o["label"] for o in f["location"]["options"])
    assert [o["value"] for o in f["body_format"]["options"]] == ["auto", "text", "html"]
    assert [o["value"] for o in f["missing_values"]["options"]] == ["error", "empty"]
    assert f["from"]["options"] is None


def test_visibility_rules_are_declarative() -> None:
    f = fields()
    template_set = {"field": "template_name", "is": "set"}
    assert f["template_variables"]["visibility"] == {"show_when": template_set}
    assert f["subject"]["visibility"] == {"hide_when": template_set}
    assert f["body"]["visibility"] == {"hide_when": template_set}
    assert f["from"]["visibility"] is None


def test_schema_returns_a_fresh_copy() -> None:
    first = schema()
    first["fields"][0]["label"] = "changed"
    first["fields"][8]["visibility"] = None
    assert schema()["fields"][0]["label"] == "AWS SES Key ID"
    assert is_visible("subject", {"template_name": "welcome"}) is False


@pytest.mark.parametrize(
    ("template_name", "template_mode"),
    [
        (None, False),
        ("", False),
        ("   ", False),
        ("welcome", True),
        ("{{trigger.template}}", True),
    ],
)
def test_template_name_switches_modes(template_name: str | None, template_mode: bool) -> None:
    config = {"template_name": template_name}
    f = fields()
    assert is_visible(f["template_variables"], config) is template_mode
    assert is_visible(f["subject"], config) is not template_mode
    assert is_visible("body", config) is not template_mode
    assert is_visible("body_format", config) is not template_mode
    assert is_visible("from", config) is True
    assert is_required("subject", config) is not template_mode
    assert is_required("body", config) is not template_mode
    assert is_required("template_variables", config) is False
    assert is_required("from", config) is True


def test_conditions() -> None:
    assert evaluate_condition({"field": "template_name", "is": "unset"}, {}) is True
    assert (
        evaluate_condition({"field": "template_name", "is": "unset"}, {"template_name": "t"})
        is False
    )
    # equals / in see the default when the value is absent, and map labels to values
    assert evaluate_condition({"field": "endpoint_version", "equals": "v2"}, {}) is True
    assert evaluate_condition(
        {"field": "endpoint_version", "equals": "v1"}, {"endpoint_version": "SESv1 (Classic)"}
    )
    assert evaluate_condition({"field": "location", "in": ["eu-west-1"]}, {"location": "eu-west-1"})
    assert not evaluate_condition({"field": "location", "in": ["eu-west-1"]}, {})
    assert evaluate_condition({"field": "to", "is": "set"}, {"to": ["a@example.com"]})
    assert not evaluate_condition(
        {"field": "template_variables", "is": "set"}, {"template_variables": {}}
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"is": "set"},
        {"field": "template_name", "is": "present"},
        {"field": "template_name"},
    ],
)
def test_malformed_conditions_raise(condition: dict) -> None:
    with pytest.raises(ValueError):
        evaluate_condition(condition, {})


def test_malformed_rule_raises() -> None:
    spec = {"key": "x", "visibility": {"show_when": {}, "hide_when": {}}}
    with pytest.raises(ValueError, match="exactly one"):
        is_visible(spec, {})
    with pytest.raises(KeyError):
        is_visible("no_such_field", {})


@pytest.mark.parametrize("template_name", [None, "welcome"])
def test_validate_follows_the_schema(template_name: str | None) -> None:
    """An empty config reports exactly the fields the schema says are required and visible."""
    config = {"template_name": template_name} if template_name else {}
    expected = {
        f["label"] for f in schema()["fields"] if is_required(f, config) and f["default"] is None
    }
    assert {e.label for e in validate(config)} == expected
    assert ("Subject" in expected) is (template_name is None)


def test_hidden_fields_are_neither_checked_nor_required() -> None:
    base = {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": "secret:ses",
        "from": "a@example.com",
        "to": "b@example.com",
    }
    # template mode: junk in subject/body/body_format is ignored
    junk = {"subject": 12, "body": ["x"], "body_format": "pdf"}
    assert validate({**base, "template_name": "welcome", **junk}) == []
    # simple mode: junk template variables are ignored, subject/body are checked
    errors = validate({**base, "template_variables": "nonsense", **junk})
    assert {e.field for e in errors} == {"subject", "body", "body_format"}


def test_node_exposes_schema_and_validate() -> None:
    assert SESEmailNode.schema() == schema()
    assert SESEmailNode().validate({}) == validate({})
