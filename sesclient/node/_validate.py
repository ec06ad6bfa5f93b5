"""Checking a node config, field by field, and reading it into a :class:`NodeConfig`.

Requiredness, options, defaults and visibility come from the UI schema
(:mod:`sesclient.node._schema`), so what the form shows and what validation
demands cannot drift apart.  Hidden fields are skipped: neither checked nor used.

Values that hold expressions can only be fully checked once the run's data is
there; here their syntax is checked, and every literal part that can be
checked (a literal address among the To entries, a literal template name) is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sesclient._errors import SESValidationError

from ._errors import FieldError, NodeConfigError
from ._expressions import ExpressionSyntaxError, Template, parse_template
from ._schema import (
    FIELD_KEYS,
    REGIONS,
    field_spec,
    is_required,
    is_set,
    is_visible,
    option_value,
    schema,
)
from ._secrets import SecretRef, SecretRefError, parse_secret_ref

__all__ = [
    "MAX_RECIPIENTS",
    "NodeConfig",
    "check_template_name",
    "is_html",
    "load_config",
    "validate",
]

#: SES accepts at most 50 recipients per message (To, Cc and Bcc together).
MAX_RECIPIENTS = 50

_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9]{16,128}")
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")
_HTML_TAGS = (
    "html|head|body|title|meta|style|p|div|span|br|hr|a|b|i|u|s|em|strong|small|sub|sup|"
    "table|thead|tbody|tfoot|tr|td|th|ul|ol|li|dl|dt|dd|h[1-6]|img|font|center|blockquote|"
    "pre|code|section|article|header|footer|main|nav|button|label"
)
_HTML = re.compile(
    rf"<!doctype\s+html|<!--|<(?:{_HTML_TAGS})(?:\s[^<>]*)?/?>|</(?:{_HTML_TAGS})\s*>",
    re.IGNORECASE,
)
_HEADER_FIELDS = frozenset({"from", "to", "subject"})


@dataclass(frozen=True)
class NodeConfig:
    """A valid config, parsed: the form the node runs from.

    Text fields are parsed :class:`Template` objects; fields hidden by the
    config's mode are ``None`` (subject/body in template mode) or empty.
    """

    access_key_id: str
    secret: SecretRef
    api: str
    region: str
    endpoint_url: str | None
    from_addr: Template
    to: Template
    template_name: Template | None
    template_variables: tuple[tuple[str, Any], ...]
    subject: Template | None
    body: Template | None
    body_is_html: bool
    missing: str


def is_html(body: Template) -> bool:
    """Whether a body, as written (literal parts only), contains HTML markup."""
    return any(_HTML.search(part) is not None for part in body.parts if isinstance(part, str))


def check_template_name(name: str) -> str | None:
    """What is wrong with a template name, or ``None`` if SES accepts it."""
    if _TEMPLATE_NAME.fullmatch(name):
        return None
    if len(name) > 64:
        return "a template name has at most 64 characters"
    return (
        "a template name has only letters, digits, '_' and '-' "
        "(as it was created in SES), with no spaces"
    )


class _Checker:
    """Collects field errors and the parsed values of one config."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.errors: list[FieldError] = []
        self.values: dict[str, Any] = {}

    def error(self, key: str, message: str) -> None:
        self.errors.append(FieldError(key, field_spec(key)["label"], message))

    def run(self) -> None:
        for key in self.config:
            if key not in FIELD_KEYS:
                known = ", ".join(FIELD_KEYS)
                self.errors.append(
                    FieldError(
                        str(key),
                        str(key),
                        f"this node has no field {key!r}; its fields are {known}",
                    )
                )
        for spec in schema()["fields"]:
            key = spec["key"]
            if not is_visible(spec, self.config):
                continue
            value = self.config.get(key)
            if not is_set(value):
                if spec["default"] is not None:
                    value = spec["default"]
                elif is_required(spec, self.config):
                    self.error(key, _REQUIRED[key])
                    continue
                else:
                    continue
            _CHECKS[key](self, spec, value)

    # -- one method per kind of field ------------------------------------------------

    def check_access_key_id(self, spec: Mapping[str, Any], value: Any) -> None:
        if not isinstance(value, str):
            self.error("access_key_id", "enter the access key ID as text")
            return
        key_id = value.strip()
        if not _ACCESS_KEY_ID.fullmatch(key_id):
            self.error(
                "access_key_id",
                "an access key ID has 16 to 128 letters and digits and looks like "
                "AKIAIOSFODNN7EXAMPLE; copy it from the IAM console",
            )
            return
        self.values["access_key_id"] = key_id

    def check_secret(self, spec: Mapping[str, Any], value: Any) -> None:
        try:
            self.values["secret_access_key"] = parse_secret_ref(value)
        except SecretRefError as exc:
            self.error("secret_access_key", str(exc))

    def check_select(self, spec: Mapping[str, Any], value: Any) -> None:
        chosen = option_value(spec, value)
        if chosen is None:
            shown = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
            choices = "one of " + ", ".join(o["value"] for o in spec["options"])
            if spec["key"] == "endpoint_version":
                choices = "SESv2 (API) or SESv1 (Classic)"
            guess = _ALIASES.get(value.strip()) if isinstance(value, str) else None
            if spec["key"] == "location" and guess:
                self.error("location", f"{shown} is not one of the choices; did you mean {guess}?")
                return
            self.error(spec["key"], f"{shown} is not one of the choices; choose {choices}")
            return
        self.values[spec["key"]] = chosen

    def check_endpoint_url(self, spec: Mapping[str, Any], value: Any) -> None:
        from sesclient._endpoints import endpoint_url

        if not isinstance(value, str):
            self.error("endpoint_url", "enter the URL as text, like http://127.0.0.1:8005")
            return
        try:
            self.values["endpoint_url"] = endpoint_url("us-east-1", endpoint_url=value.strip())
        except SESValidationError as exc:
            problem = exc.message.removeprefix("endpoint_url ")
            self.error(
                "endpoint_url",
                f"{problem}; enter a URL like http://127.0.0.1:8005, or leave it empty",
            )

    def parse_text(self, key: str, value: Any) -> Template | None:
        if not isinstance(value, str):
            self.error(key, f"enter text, not a {type(value).__name__}")
            return None
        try:
            template = parse_template(value)
        except ExpressionSyntaxError as exc:
            self.error(key, str(exc))
            return None
        if key in _HEADER_FIELDS and any(
            isinstance(p, str) and ("\r" in p or "\n" in p) for p in template.parts
        ):
            self.error(key, "must be on a single line: remove the line breaks")
            return None
        return template

    def check_from(self, spec: Mapping[str, Any], value: Any) -> None:
        template = self.parse_text("from", value)
        if template is None:
            return
        if template.is_literal:
            problem = _address_problem(value, allow_many=False)
            if problem:
                self.error("from", problem)
                return
        self.values["from"] = template

    def check_to(self, spec: Mapping[str, Any], value: Any) -> None:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ", ".join(value)
        template = self.parse_text("to", value)
        if template is None:
            return
        from sesclient._addresses import split_addresses

        entries = [e for e in split_addresses(value) if e.strip()]
        ok = True
        for number, entry in enumerate(entries, 1):
            if "{{" in entry:
                continue
            problem = _address_problem(entry, allow_many=False)
            if problem:
                self.error("to", f"entry {number} of the list: {problem}")
                ok = False
        if len(entries) > MAX_RECIPIENTS:
            self.error(
                "to",
                f"has {len(entries)} addresses; SES takes at most {MAX_RECIPIENTS} per "
                "message: split the list, or send one message per recipient with a batch run",
            )
            ok = False
        if not entries:
            self.error("to", _REQUIRED["to"])
            ok = False
        if ok:
            self.values["to"] = template

    def check_template_name(self, spec: Mapping[str, Any], value: Any) -> None:
        template = self.parse_text("template_name", value)
        if template is None:
            return
        if template.is_literal:
            problem = check_template_name(value.strip())
            if problem:
                self.error("template_name", problem)
                return
        self.values["template_name"] = template

    def check_template_variables(self, spec: Mapping[str, Any], value: Any) -> None:
        pairs: list[tuple[Any, Any]] = []
        if isinstance(value, Mapping):
            pairs = list(value.items())
        elif isinstance(value, list):
            for number, item in enumerate(value, 1):
                if not (
                    isinstance(item, Mapping) and set(item) <= {"key", "value"} and "key" in item
                ):
                    self.error(
                        "template_variables",
                        f"row {number} must be a pair like "
                        '{"key": "firstName", "value": "{{trigger.customer_name}}"}',
                    )
                    return
                pairs.append((item["key"], item.get("value")))
        else:
            self.error(
                "template_variables",
                'enter name/value pairs, like {"firstName": "{{trigger.customer_name}}"}',
            )
            return
        seen: set[str] = set()
        parsed: list[tuple[str, Any]] = []
        for name, raw in pairs:
            if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
                self.error(
                    "template_variables",
                    f"variable name {name!r} is not usable in a template: start with a letter "
                    "or '_' and use letters, digits, '_' and '-' (no spaces)",
                )
                continue
            if name in seen:
                self.error("template_variables", f"variable {name!r} is given twice; keep one")
                continue
            seen.add(name)
            if isinstance(raw, str):
                try:
                    parsed.append((name, parse_template(raw)))
                except ExpressionSyntaxError as exc:
                    self.error("template_variables", f"variable {name!r}: {exc}")
            elif raw is None or isinstance(raw, (bool, int, float)):
                parsed.append((name, raw))
            else:
                self.error(
                    "template_variables",
                    f"variable {name!r} must be text (expressions allowed), a number, "
                    f"true/false or empty, not a {type(raw).__name__}",
                )
        self.values["template_variables"] = tuple(parsed)

    def check_subject(self, spec: Mapping[str, Any], value: Any) -> None:
        template = self.parse_text("subject", value)
        if template is not None:
            self.values["subject"] = template

    def check_body(self, spec: Mapping[str, Any], value: Any) -> None:
        template = self.parse_text("body", value)
        if template is not None:
            self.values["body"] = template


# Near misses for Location, so the error can say which choice was meant.
_ALIASES = {region.upper(): region for region in REGIONS} | {
    name: region for region, name in REGIONS.items()
}

_REQUIRED = {
    "access_key_id": "required: enter the access key ID of an IAM user allowed to send with SES",
    "secret_access_key": "required: choose the stored secret that holds the secret access key",
    "endpoint_version": "required: choose SESv2 (API) or SESv1 (Classic)",
    "location": "required: choose the AWS region of your SES account",
    "from": "required: enter the sender address, like Shop <orders@example.com>",
    "to": "required: enter at least one recipient address; separate several with commas",
    "subject": "required when no Template Name is set: enter the subject line",
    "body": "required when no Template Name is set: enter the message text or HTML",
}

_CHECKS: dict[str, Callable[[_Checker, Mapping[str, Any], Any], None]] = {
    "access_key_id": _Checker.check_access_key_id,
    "secret_access_key": _Checker.check_secret,
    "endpoint_version": _Checker.check_select,
    "location": _Checker.check_select,
    "from": _Checker.check_from,
    "to": _Checker.check_to,
    "template_name": _Checker.check_template_name,
    "template_variables": _Checker.check_template_variables,
    "subject": _Checker.check_subject,
    "body": _Checker.check_body,
    "body_format": _Checker.check_select,
    "missing_values": _Checker.check_select,
    "endpoint_url": _Checker.check_endpoint_url,
}


def _address_problem(value: str, *, allow_many: bool) -> str | None:
    """What is wrong with one literal address, in words for the author, or ``None``."""
    from sesclient._addresses import normalize_address, split_addresses

    if not allow_many and len([p for p in split_addresses(value) if p.strip()]) > 1:
        return "give exactly one address here"
    try:
        normalize_address(value.strip(), "address")
    except SESValidationError as exc:
        return exc.message.removeprefix("address: ") + "; an address looks like name@example.com"
    return None


def _check(config: Any) -> _Checker | list[FieldError]:
    if not isinstance(config, Mapping):
        return [
            FieldError(
                "", "Config", f"the node config must be an object, not {type(config).__name__}"
            )
        ]
    checker = _Checker(config)
    checker.run()
    return checker


def validate(config: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with a config, as field errors a workflow author can act on.

    An empty list means the config is valid.  No error message ever contains
    a secret: the secret field only holds a reference, and a malformed
    reference is described, not quoted.
    """
    checked = _check(config)
    return checked if isinstance(checked, list) else checked.errors


def load_config(config: Mapping[str, Any]) -> NodeConfig:
    """Validate ``config`` and parse it; raise :class:`NodeConfigError` if it is invalid."""
    checked = _check(config)
    if isinstance(checked, list):
        raise NodeConfigError(checked)
    if checked.errors:
        raise NodeConfigError(checked.errors)
    v = checked.values
    template_mode = "template_name" in v
    body: Template | None = None if template_mode else v["body"]
    body_format = v.get("body_format", "auto")
    body_is_html = body is not None and (
        body_format == "html" or (body_format == "auto" and is_html(body))
    )
    return NodeConfig(
        access_key_id=v["access_key_id"],
        secret=v["secret_access_key"],
        api=v["endpoint_version"],
        region=v["location"],
        endpoint_url=v.get("endpoint_url"),
        from_addr=v["from"],
        to=v["to"],
        template_name=v.get("template_name"),
        template_variables=v.get("template_variables", ()) if template_mode else (),
        subject=None if template_mode else v["subject"],
        body=body,
        body_is_html=body_is_html,
        missing=v.get("missing_values", "error"),
    )
