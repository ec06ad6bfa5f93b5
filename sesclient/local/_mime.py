"""Parse a raw MIME message into the parts the local endpoint's inbox shows.

``SendRawEmail`` (v1) and ``Content.Raw`` (v2) hand the local endpoint a whole
RFC 5322 message; the inbox wants its sender, recipients, subject, text and
HTML bodies and attachments.  :func:`parse_message` gets those with the
stdlib ``email`` package (imported on first use), decoding encoded-words,
RFC 2231 file names and transfer encodings on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ParsedAttachment", "ParsedMessage", "parse_message"]


@dataclass(frozen=True)
class ParsedAttachment:
    """One attachment: file name, content type, decoded size and content.

    ``filename`` is ``""`` when the part has none; ``size`` is the decoded size
    in bytes, i.e. ``len(content)``.  Inline parts (images an HTML body shows)
    are attachments too; ``inline`` and ``content_id`` tell them apart.
    """

    filename: str
    content_type: str
    size: int
    content: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass
class ParsedMessage:
    """What a raw message holds, decoded.

    Addresses are formatted like SES's ``commonHeaders`` in sending events
    (``Name <user@example.com>`` with the display name decoded, or a bare
    address); ``from_`` is the first ``From`` address, ``""`` when there is
    none.  ``bcc`` is only known when the message has a ``Bcc`` header,
    which a well-formed outgoing message usually does not.  ``headers`` maps
    each header name (as first written) to its decoded value, several values
    of one name joined with ``", "``; ``header_list`` keeps every header in
    order.
    """

    from_: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    subject: str = ""
    text: str | None = None
    html: str | None = None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    header_list: list[tuple[str, str]] = field(default_factory=list)
    message_id: str | None = None
    date: str | None = None


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` (a complete RFC 5322 message) into a :class:`ParsedMessage`.

    The parser is lenient, as mail parsers are: a malformed message yields
    whatever could be recovered rather than an exception.  Only a non-bytes
    argument is an error (:class:`TypeError`).
    """
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise TypeError(f"parse_message expects bytes, got {type(raw).__name__}")
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(raw)
    parsed = ParsedMessage()
    for name, value in message.items():
        text = _header_text(value)
        parsed.header_list.append((name, text))
        existing = next((key for key in parsed.headers if key.lower() == name.lower()), None)
        if existing is None:
            parsed.headers[name] = text
        else:
            parsed.headers[existing] = f"{parsed.headers[existing]}, {text}"
    senders = _addresses(message, "From")
    parsed.from_ = senders[0] if senders else ""
    parsed.to = _addresses(message, "To")
    parsed.cc = _addresses(message, "Cc")
    parsed.bcc = _addresses(message, "Bcc")
    parsed.reply_to = _addresses(message, "Reply-To")
    parsed.subject = _header_text(message.get("Subject", ""))
    message_id = message.get("Message-ID")
    parsed.message_id = _header_text(message_id).strip() if message_id is not None else None
    date = message.get("Date")
    parsed.date = _header_text(date) if date is not None else None

    text_part = _body_part(message, "plain")
    html_part = _body_part(message, "html")
    if text_part is not None:
        parsed.text = _text_content(text_part)
    if html_part is not None:
        parsed.html = _text_content(html_part)
    bodies = {id(part) for part in (text_part, html_part) if part is not None}
    _collect_attachments(message, bodies, parsed.attachments, in_alternative=False)
    return parsed


def _header_text(value: Any) -> str:
    # policy.default yields str subclasses with encoded-words already decoded.
    return str(value)


def _addresses(message: Any, name: str) -> list[str]:
    result: list[str] = []
    for header in message.get_all(name) or ():
        addresses = getattr(header, "addresses", None)
        if addresses is None:
            text = _header_text(header).strip()
            if text:
                result.append(text)
            continue
        for address in addresses:
            result.append(str(address) if address.display_name else address.addr_spec)
    return result


def _body_part(message: Any, subtype: str) -> Any:
    try:
        part = message.get_body(preferencelist=(subtype,))
    except (KeyError, LookupError, AttributeError):
        return None
    if part is None or part.get_content_disposition() == "attachment":
        return None
    return part


def _text_content(part: Any) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        # Unknown charset or broken encoding: decode the bytes leniently.
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")
    if isinstance(content, bytes):
        return content.decode("utf-8", errors="replace")
    return str(content)


def _collect_attachments(
    part: Any, bodies: set[int], out: list[ParsedAttachment], *, in_alternative: bool
) -> None:
    content_type = part.get_content_type()
    if id(part) in bodies:
        return
    if content_type == "message/rfc822" and part.get_content_disposition() is not None:
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        out.append(_attachment(part, content_type, data))
        return
    if part.is_multipart():
        alternative = content_type == "multipart/alternative"
        for child in part.iter_parts():
            _collect_attachments(child, bodies, out, in_alternative=alternative)
        return
    if part.get_content_maintype() == "multipart":
        return
    # The renditions of a multipart/alternative that were not picked as the
    # text or HTML body (text/enriched, text/watch-html) are other versions of
    # the body, not attachments.
    if in_alternative and part.get_content_disposition() is None:
        return
    data = part.get_payload(decode=True) or b""
    out.append(_attachment(part, content_type, data))


def _attachment(part: Any, content_type: str, data: bytes) -> ParsedAttachment:
    content_id = part.get("Content-ID")
    cid = _header_text(content_id).strip().strip("<>") if content_id is not None else None
    return ParsedAttachment(
        filename=part.get_filename() or "",
        content_type=content_type,
        size=len(data),
        content=data,
        inline=part.get_content_disposition() == "inline",
        content_id=cid or None,
    )
