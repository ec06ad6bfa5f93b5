"""Filling a parsed config with one run's data: the email that will be sent.

Header fields (From, To, Subject) get a line-break rule: if a CR or LF
arrives with the data, the step fails with ``LineBreakInHeader`` naming the
field and its expressions.  The node rejects rather than strips, because a
line break in a header value is either broken data or an injection attempt,
and silently sending an altered header hides both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sesclient._errors import SESValidationError

from ._errors import NodeError
from ._expressions import MissingValueError, Template, render, render_native
from ._schema import field_spec
from ._validate import MAX_RECIPIENTS, NodeConfig, check_template_name

__all__ = ["OutgoingEmail", "render_email"]


@dataclass(frozen=True)
class OutgoingEmail:
    """One email, ready for ``SESClient.send_email``: plain values, no expressions."""

    from_addr: str
    to: tuple[str, ...]
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template: str | None = None
    template_data: dict[str, Any] | None = None

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the client's high-level ``send_email``."""
        kwargs: dict[str, Any] = {"from_addr": self.from_addr, "to": list(self.to)}
        if self.template is not None:
            kwargs["template"] = self.template
            kwargs["template_data"] = self.template_data or {}
        else:
            kwargs["subject"] = self.subject
            if self.text is not None:
                kwargs["text"] = self.text
            if self.html is not None:
                kwargs["html"] = self.html
        return kwargs


def _label(key: str) -> str:
    return str(field_spec(key)["label"])


def _missing_error(key: str, exc: MissingValueError) -> NodeError:
    return NodeError(
        "MissingValue",
        f"{_label(key)}: {exc}",
        "Check the path against the data the run provides (names are case-sensitive; "
        "lists take an index such as items[0]), or set Missing Values to "
        f"{field_spec('missing_values')['options'][1]['label']!r} to allow it.",
        _label(key),
    )


def _text(
    key: str, template: Template, context: Mapping[str, Any], cfg: NodeConfig, **kw: Any
) -> str:
    try:
        return render(template, context, missing=cfg.missing, **kw)
    except MissingValueError as exc:
        raise _missing_error(key, exc) from None


def _header(key: str, template: Template, context: Mapping[str, Any], cfg: NodeConfig) -> str:
    value = _text(key, template, context, cfg)
    if "\r" in value or "\n" in value or "\x00" in value:
        sources = ", ".join(e.source for e in template.expressions) or "its text"
        raise NodeError(
            "LineBreakInHeader",
            f"{_label(key)}: the value of {sources} contains a line break (CR or LF) "
            "or NUL, which must never reach an email header; the email was not sent.",
            "Clean the data before this step (remove line breaks), or use a different "
            "value for this field.",
            _label(key),
        )
    return value


def _empty(key: str, what: str) -> NodeError:
    return NodeError(
        "EmptyValue",
        f"{_label(key)} is empty after filling in its expressions.",
        f"Make sure the run's data provides {what}.",
        _label(key),
    )


def render_email(cfg: NodeConfig, context: Mapping[str, Any] | None) -> OutgoingEmail:
    """Build the email for one run, or raise :class:`NodeError` saying which field failed."""
    from sesclient._addresses import normalize_address, parse_recipients

    data: Mapping[str, Any] = context if context is not None else {}
    if not isinstance(data, Mapping):
        raise NodeError(
            "InvalidContext",
            f"the run context must be an object, not {type(data).__name__}",
            "Pass the run's data as a dict such as {'trigger': {...}, 'workflow': {...}}.",
        )

    from_text = _header("from", cfg.from_addr, data, cfg).strip()
    if not from_text:
        raise _empty("from", "a sender address")
    try:
        from_addr = normalize_address(from_text, "From")
    except SESValidationError as exc:
        raise NodeError(
            "InvalidAddress",
            exc.message,
            "Use one address like orders@example.com or Shop <orders@example.com>.",
            _label("from"),
        ) from None

    to_text = _header("to", cfg.to, data, cfg)
    try:
        recipients = tuple(parse_recipients(to_text, field="To"))
    except SESValidationError as exc:
        raise NodeError(
            "InvalidAddress",
            exc.message,
            "Separate addresses with commas; each looks like name@example.com.",
            _label("to"),
        ) from None
    if not recipients:
        raise _empty("to", "at least one recipient address")
    if len(recipients) > MAX_RECIPIENTS:
        raise NodeError(
            "TooManyRecipients",
            f"To has {len(recipients)} addresses; SES takes at most {MAX_RECIPIENTS} per message.",
            "Send one message per recipient with a batch run, or split the list.",
            _label("to"),
        )

    if cfg.template_name is not None:
        name = _text("template_name", cfg.template_name, data, cfg).strip()
        if not name:
            raise _empty("template_name", "the template's name")
        problem = check_template_name(name)
        if problem:
            raise NodeError(
                "InvalidTemplateName",
                f"Template Name: {name!r}: {problem}.",
                "Check the data that supplies the template's name.",
                _label("template_name"),
            )
        variables: dict[str, Any] = {}
        for var, value in cfg.template_variables:
            if isinstance(value, Template):
                try:
                    variables[var] = render_native(value, data, missing=cfg.missing)
                except MissingValueError as exc:
                    raise _missing_error("template_variables", exc) from None
            else:
                variables[var] = value
        return OutgoingEmail(
            from_addr=from_addr, to=recipients, template=name, template_data=variables
        )

    assert cfg.subject is not None and cfg.body is not None
    subject = _header("subject", cfg.subject, data, cfg).strip()
    if not subject:
        raise _empty("subject", "the subject's text")
    if cfg.body_is_html:
        import html  # not at import time: it loads the HTML5 entity table

        body = _text("body", cfg.body, data, cfg, escape=html.escape)
    else:
        body = _text("body", cfg.body, data, cfg)
    if not body.strip():
        raise _empty("body", "the message's text")
    if not cfg.body_is_html:
        return OutgoingEmail(from_addr=from_addr, to=recipients, subject=subject, text=body)
    from sesclient._message import html_to_text

    return OutgoingEmail(
        from_addr=from_addr, to=recipients, subject=subject, text=html_to_text(body), html=body
    )
