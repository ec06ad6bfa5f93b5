"""The node's fields, as a UI renders them, and the rules that show or hide them.

The schema document is the single source of truth: the UI draws the form
from it, and :func:`sesclient.node.validate` reads requiredness, options and
visibility from the very same document through :func:`is_visible` and
:func:`is_required`, so the two can never disagree.

Visibility rules are data, not code.  A field carries at most one of::

    {"show_when": <condition>}     # visible only while the condition holds
    {"hide_when": <condition>}     # hidden while the condition holds

and a condition is one of::

    {"field": "template_name", "is": "set"}      # value present and not blank
    {"field": "template_name", "is": "unset"}
    {"field": "body_format", "equals": "html"}
    {"field": "location", "in": ["us-east-1", "us-west-2"]}

``required`` in the schema means *required while visible*: a hidden field is
never required, and its value (which may linger in a saved config after the
author switched modes) is ignored, neither validated nor sent.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BODY_FORMATS",
    "ENDPOINT_VERSIONS",
    "FIELD_KEYS",
    "MISSING_VALUE_MODES",
    "NODE_TYPE",
    "REGIONS",
    "evaluate_condition",
    "field_spec",
    "is_required",
    "is_set",
    "is_visible",
    "option_value",
    "schema",
]

NODE_TYPE = "sesclient.ses_email"

#: The regions the product offers, with the names its UI shows.
REGIONS: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-central-1": "Europe (Frankfurt)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
}

#: Stored value -> label.  The label is what the product's documentation calls
#: the option; configs may hold either, :func:`option_value` maps both to the value.
ENDPOINT_VERSIONS: dict[str, str] = {"v2": "SESv2 (API)", "v1": "SESv1 (Classic)"}

BODY_FORMATS: dict[str, str] = {
    "auto": "Detect (HTML if the body contains HTML tags)",
    "text": "Plain text",
    "html": "HTML (a plain-text alternative is generated)",
}

MISSING_VALUE_MODES: dict[str, str] = {
    "error": "Fail the step, naming the expression",
    "empty": "Render the missing value as empty text",
}

_TEMPLATE_SET = {"field": "template_name", "is": "set"}


def _options(table: Mapping[str, str], *, with_value: bool = False) -> list[dict[str, str]]:
    return [
        {"value": value, "label": f"{label} ({value})" if with_value else label}
        for value, label in table.items()
    ]


def _field(
    key: str,
    label: str,
    type: str,
    help: str,
    *,
    required: bool = False,
    default: Any = None,
    options: list[dict[str, str]] | None = None,
    secret: bool = False,
    expressions: bool = False,
    advanced: bool = False,
    visibility: dict[str, Any] | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "type": type,
        "help": help,
        "required": required,
        "default": default,
        "options": options,
        "secret": secret,
        "expressions": expressions,
        "advanced": advanced,
        "visibility": visibility,
        "placeholder": placeholder,
    }


_FIELDS: tuple[dict[str, Any], ...] = (
    _field(
        "access_key_id",
        "AWS SES Key ID",
        "string",
        "The access key ID of an IAM user or role allowed to send email with SES.",
        required=True,
        placeholder="AKIAIOSFODNN7EXAMPLE",
    ),
    _field(
        "secret_access_key",
        "AWS Secret Access Key",
        "secret",
        "The stored secret that holds the secret access key for the key ID above. "
        'The config keeps only a reference ({"secret": "name"} or "secret:name"), '
        "never the key itself.",
        required=True,
        secret=True,
        placeholder="secret:ses-production",
    ),
    _field(
        "endpoint_version",
        "Endpoint Version",
        "select",
        "Which SES API sends the email. SESv2 is the current API; SESv1 is the classic one.",
        required=True,
        default="v2",
        options=_options(ENDPOINT_VERSIONS),
    ),
    _field(
        "location",
        "Location",
        "select",
        "The AWS region of your SES account. Sender identities and templates are per region.",
        required=True,
        default="us-east-1",
        options=_options(REGIONS, with_value=True),
    ),
    _field(
        "from",
        "From",
        "email",
        "The sender: a verified address or an address at a verified domain, "
        "optionally with a display name, like Shop <orders@example.com>.",
        required=True,
        expressions=True,
        placeholder="Shop <orders@example.com>",
    ),
    _field(
        "to",
        "To",
        "email_list",
        "Recipients, separated by commas (at most 50). An expression may give a list.",
        required=True,
        expressions=True,
        placeholder="{{trigger.email}}, team@example.com",
    ),
    _field(
        "template_name",
        "Template Name",
        "string",
        "An SES email template in the chosen location. When set, the template supplies "
        "the subject and body, filled from Template Variables.",
        expressions=True,
    ),
    _field(
        "template_variables",
        "Template Variables",
        "key_value",
        "Values for the template's placeholders: each name maps to text, which may "
        "use expressions. A value that is a single expression keeps the data's own type "
        "(a list stays a list, for {{#each}}).",
        expressions=True,
        visibility={"show_when": _TEMPLATE_SET},
    ),
    _field(
        "subject",
        "Subject",
        "string",
        "The subject line. Must be a single line.",
        required=True,
        expressions=True,
        visibility={"hide_when": _TEMPLATE_SET},
    ),
    _field(
        "body",
        "Body",
        "text",
        "The message, as plain text or HTML. An HTML body is sent together with a "
        "plain-text version generated from it. In an HTML body, {{...}} values are "
        "HTML-escaped; {{{...}}} inserts a value as raw HTML.",
        required=True,
        expressions=True,
        visibility={"hide_when": _TEMPLATE_SET},
    ),
    _field(
        "body_format",
        "Body Format",
        "select",
        "How to treat the body. Detect decides from the body as written (before "
        "expressions are filled in): HTML if it contains HTML tags.",
        default="auto",
        options=_options(BODY_FORMATS),
        advanced=True,
        visibility={"hide_when": _TEMPLATE_SET},
    ),
    _field(
        "missing_values",
        "Missing Values",
        "select",
        "What an expression whose path is not in the run's data does.",
        default="error",
        options=_options(MISSING_VALUE_MODES),
        advanced=True,
    ),
    _field(
        "endpoint_url",
        "Endpoint URL",
        "url",
        "Send to this URL instead of the SES endpoint of the location, for example "
        "a local SES endpoint for testing. Leave empty for AWS.",
        advanced=True,
        placeholder="http://127.0.0.1:8005",
    ),
)

FIELD_KEYS: tuple[str, ...] = tuple(f["key"] for f in _FIELDS)
_BY_KEY: dict[str, dict[str, Any]] = {f["key"]: f for f in _FIELDS}


def schema() -> dict[str, Any]:
    """The UI schema: a JSON-able document describing every field of the node.

    Each entry of ``fields`` has ``key``, ``label``, ``type``, ``help``,
    ``required`` (while visible), ``default``, ``options`` (list of
    ``{"value", "label"}`` for selects, else null), ``secret``,
    ``expressions`` (whether ``{{...}}`` is evaluated), ``advanced``,
    ``visibility`` (null or one rule, see the module docs) and ``placeholder``.
    A fresh copy is returned: callers may change it freely.
    """
    return {
        "type": NODE_TYPE,
        "label": "Amazon SES Email",
        "description": "Send an email through Amazon SES (SESv2 or SESv1), with a body "
        "of your own or an SES template.",
        "version": 1,
        "required_means": "required while visible; hidden fields are ignored",
        "fields": copy.deepcopy(list(_FIELDS)),
    }


def field_spec(key: str) -> dict[str, Any]:
    """The schema entry of one field, by key (read-only: do not modify)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown field {key!r}") from None


def is_set(value: Any) -> bool:
    """Whether a config value counts as given: not None, not blank, not empty."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (Mapping, list, tuple)):
        return bool(value)
    return True


def evaluate_condition(condition: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    """Evaluate one visibility condition against a config dict."""
    key = condition.get("field")
    if not isinstance(key, str):
        raise ValueError(f"condition without a field name: {condition!r}")
    value = config.get(key)
    if "is" in condition:
        state = condition["is"]
        if state == "set":
            return is_set(value)
        if state == "unset":
            return not is_set(value)
        raise ValueError(f"unknown state {state!r} in condition (use 'set' or 'unset')")
    if not is_set(value):
        value = field_spec(key).get("default") if key in _BY_KEY else None
    if "equals" in condition:
        return _normalise_option(key, value) == condition["equals"]
    if "in" in condition:
        return _normalise_option(key, value) in condition["in"]
    raise ValueError(f"condition needs 'is', 'equals' or 'in': {condition!r}")


def is_visible(field: Mapping[str, Any] | str, config: Mapping[str, Any]) -> bool:
    """Whether a field (a schema entry, or its key) is shown for this config."""
    spec = field_spec(field) if isinstance(field, str) else field
    rule = spec.get("visibility")
    if not rule:
        return True
    if set(rule) - {"show_when", "hide_when"} or len(rule) != 1:
        raise ValueError(f"a visibility rule has exactly one of show_when/hide_when: {rule!r}")
    if "show_when" in rule:
        return evaluate_condition(rule["show_when"], config)
    return not evaluate_condition(rule["hide_when"], config)


def is_required(field: Mapping[str, Any] | str, config: Mapping[str, Any]) -> bool:
    """Whether a field must be given for this config: required, and visible."""
    spec = field_spec(field) if isinstance(field, str) else field
    return bool(spec.get("required")) and is_visible(spec, config)


def _normalise_option(key: str, value: Any) -> Any:
    spec = _BY_KEY.get(key)
    if spec is None or not spec.get("options"):
        return value
    return option_value(spec, value)


def option_value(spec: Mapping[str, Any], value: Any) -> str | None:
    """Map a select's value or label to its value; ``None`` if it is neither.

    Labels are accepted because the product's documentation names the options
    by label (``SESv2 (API)``), and a config may have been written by hand.
    """
    if not isinstance(value, str):
        return None
    wanted = value.strip()
    for option in spec.get("options") or ():
        if wanted == option["value"] or wanted.casefold() == option["label"].casefold():
            return option["value"]
    return None
