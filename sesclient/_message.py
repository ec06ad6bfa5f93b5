"""The high-level message: validation and request building for ``send_email``.

``client.send_email(from_addr=..., to=..., subject=..., text=...)`` is one call
whatever the API version; :func:`build_send` checks every argument and turns
it into the boto3-shaped kwargs of the low-level operation that carries it:

* SESv2 ``SendEmail`` with ``Content.Simple`` (attachments and custom headers
  included) or ``Content.Template``;
* SESv1 ``SendEmail`` for a plain message, ``SendTemplatedEmail`` for a
  template, and ``SendRawEmail`` with a MIME message built here when the
  message carries attachments or custom headers (v1 has no other way to send
  them).

All of it is pure: no I/O except reading attachment files the caller passed as
paths.  A plain message (one address, a text or HTML body) stays on a fast path
that touches neither the ``email`` package nor IDNA; everything heavier is
imported inside the function that needs it.

:func:`html_to_text` makes the plain-text alternative of an HTML body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from os import PathLike, fspath
from typing import Any, NamedTuple, Union

from sesclient._addresses import (
    encode_words,
    normalize_address,
    parse_recipients,
    split_normalized,
)
from sesclient._errors import SESValidationError

__all__ = [
    "BLOCKED_ATTACHMENT_EXTENSIONS",
    "MAX_HEADERS_V2",
    "MAX_MESSAGE_SIZE_V1",
    "MAX_MESSAGE_SIZE_V2",
    "MAX_RECIPIENTS",
    "MAX_TEMPLATE_DATA_LENGTH",
    "Attachment",
    "AttachmentLike",
    "build_send",
    "html_to_text",
    "parse_recipients",
]

#: SES sends one message to at most 50 recipients, To + Cc + Bcc together.
MAX_RECIPIENTS = 50
#: Largest message the SESv1 API takes: 10 MB including attachments, counted
#: after base64 encoding (SES service quotas).  Taken as MiB so that a message
#: SES accepts is never refused here: the check saves a doomed round trip, and
#: SES stays the judge of anything within a few bytes of the limit.
MAX_MESSAGE_SIZE_V1 = 10 * 1024 * 1024
#: Largest message the SESv2 API (and SMTP) takes: 40 MB, counted the same way.
MAX_MESSAGE_SIZE_V2 = 40 * 1024 * 1024
#: ``Content.Simple.Headers`` / ``Content.Template.Headers`` hold at most 15 entries.
MAX_HEADERS_V2 = 15
#: ``Template.TemplateData`` (v2 model: max 262144 characters).
MAX_TEMPLATE_DATA_LENGTH = 262_144
#: Header field name and value limits of SESv2 ``MessageHeader``.
_MAX_HEADER_NAME = 126
_MAX_HEADER_VALUE = 995
_MAX_HEADER_LINE = 996
#: ``Attachment.FileName`` / ``ContentType`` / ``ContentId`` limits (v2 model).
_MAX_FILENAME = 255
_MAX_CONTENT_TYPE = 78
_MAX_CONTENT_ID = 78
_MAX_TAG = 256

#: SES refuses attachments with these extensions ("Amazon SES unsupported
#: attachment types" in the SES developer guide); checked here so the send fails
#: before the request instead of coming back as MessageRejected.
# fmt: off
BLOCKED_ATTACHMENT_EXTENSIONS = frozenset((
    "ade", "adp", "app", "asp", "bas", "bat", "cer", "chm", "cmd", "com", "cpl", "crt", "csh",
    "der", "exe", "fxp", "gadget", "hlp", "hta", "inf", "ins", "isp", "its", "js", "jse", "ksh",
    "lib", "lnk", "mad", "maf", "mag", "mam", "maq", "mar", "mas", "mat", "mau", "mav", "maw",
    "mda", "mdb", "mde", "mdt", "mdw", "mdz", "msc", "msh", "msh1", "msh2", "mshxml", "msh1xml",
    "msh2xml", "msi", "msp", "mst", "ops", "pcd", "pif", "plg", "prf", "prg", "reg", "scf", "scr",
    "sct", "shb", "shs", "sys", "ps1", "ps1xml", "ps2", "ps2xml", "psc1", "psc2", "tmp", "url",
    "vb", "vbe", "vbs", "vps", "vsmacros", "vss", "vst", "vsw", "vxd", "ws", "wsc", "wsf", "wsh",
    "xnk",
))
# fmt: on

# Headers the message builds from other arguments; a custom copy would clash.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "reply-to",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
# RFC 5322 field name: printable ASCII except ':' (also SESv2's pattern).
_HEADER_NAME_RE = re.compile(r"[!-9;-~]+")
_TAG_RE = re.compile(r"[A-Za-z0-9_-]+")
_MIME_TYPE_RE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(?:\s*;.*)?"
)
_UTF8 = "UTF-8"
# A body up to this many characters cannot reach either size limit even after
# UTF-8 (at most 4 bytes a character), base64 (4/3) and line breaks; longer
# bodies get their encoded size worked out.
_BODY_SAFE_CHARS = MAX_MESSAGE_SIZE_V1 // 6
# Room for the headers and MIME structure the size estimate cannot see.
_SIZE_OVERHEAD = 16 * 1024
_PART_OVERHEAD = 512


@dataclass(frozen=True)
class Attachment:
    """A file to attach to a message.

    ``content_type`` is guessed from ``filename`` when left out.  ``inline``
    marks an attachment that the HTML body shows (an image referenced as
    ``<img src="cid:logo">`` with ``content_id="logo"``).
    """

    filename: str
    content: bytes
    content_type: str | None = None
    _: KW_ONLY
    inline: bool = False
    content_id: str | None = None


#: What ``attachments=`` accepts for one attachment.
AttachmentLike = Union[Attachment, tuple[str, bytes], tuple[str, bytes, str], "PathLike[str]"]


class _Part(NamedTuple):
    filename: str
    content: bytes
    content_type: str
    inline: bool
    content_id: str | None


def build_send(
    api: str,
    *,
    from_addr: str,
    to: str | Iterable[str] | None = (),
    cc: str | Iterable[str] | None = (),
    bcc: str | Iterable[str] | None = (),
    reply_to: str | Iterable[str] | None = (),
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    template: str | None = None,
    template_data: Mapping[str, Any] | str | None = None,
    attachments: Iterable[AttachmentLike] | AttachmentLike | None = (),
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    configuration_set: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Validate a high-level send and return ``(operation, kwargs)``.

    ``operation`` is the snake_case name of the low-level call on the client of
    ``api`` (``"v1"`` or ``"v2"``): ``"send_email"``, ``"send_templated_email"``
    or ``"send_raw_email"``; ``kwargs`` are exactly what boto3's ``ses`` or
    ``sesv2`` client takes for it.  Every problem raises
    :class:`~sesclient._errors.SESValidationError` whose ``field`` names the
    argument (``to[2]``, ``headers['X-Tag']``, ``attachments[0]``).
    """
    if api != "v2" and api != "v1":
        raise SESValidationError(f"api: expected 'v1' or 'v2', got {api!r}", field="api")
    if not from_addr:
        raise SESValidationError("from_addr: a sender address is required", field="from_addr")
    source = normalize_address(from_addr, "from_addr")
    to_list = parse_recipients(to, field="to") if to else []
    cc_list = parse_recipients(cc, field="cc") if cc else []
    bcc_list = parse_recipients(bcc, field="bcc") if bcc else []
    reply_list = parse_recipients(reply_to, field="reply_to") if reply_to else []
    count = len(to_list) + len(cc_list) + len(bcc_list)
    if count == 0:
        raise SESValidationError(
            "to: at least one recipient is required (to, cc or bcc)", field="to"
        )
    if count > MAX_RECIPIENTS:
        raise SESValidationError(
            f"to: {count} recipients (to + cc + bcc); SES accepts at most {MAX_RECIPIENTS} "
            "per message, so split the send",
            field="to",
        )
    destination: dict[str, list[str]] = {}
    if to_list:
        destination["ToAddresses"] = to_list
    if cc_list:
        destination["CcAddresses"] = cc_list
    if bcc_list:
        destination["BccAddresses"] = bcc_list

    header_list = _check_headers(headers, api) if headers else []
    parts = _coerce_attachments(attachments) if attachments else []
    tag_list = _check_tags(tags) if tags else None
    if configuration_set is not None and (
        not isinstance(configuration_set, str) or not configuration_set
    ):
        raise SESValidationError(
            "configuration_set: expected a non-empty configuration set name",
            field="configuration_set",
        )

    if template is not None:
        return _build_template(
            api,
            source=source,
            destination=destination,
            reply_list=reply_list,
            subject=subject,
            text=text,
            html=html,
            template=template,
            template_data=template_data,
            parts=parts,
            header_list=header_list,
            configuration_set=configuration_set,
            tag_list=tag_list,
        )
    if template_data is not None:
        raise SESValidationError(
            "template_data: given without template; pass template= as well", field="template_data"
        )
    if text is None and html is None:
        raise SESValidationError(
            "text: the message has no body; pass text=, html= (or both), or template=",
            field="text",
        )
    if subject is None:
        subject = ""
    elif type(subject) is not str:
        raise SESValidationError(
            f"subject: expected a string, got {type(subject).__name__}", field="subject"
        )
    elif "\r" in subject or "\n" in subject:
        raise SESValidationError(
            f"subject: {subject!r} contains a line break (CR or LF), which is not allowed in a "
            "header",
            field="subject",
        )
    if text is not None and type(text) is not str:
        raise SESValidationError(
            f"text: expected a string, got {type(text).__name__}", field="text"
        )
    if html is not None and type(html) is not str:
        raise SESValidationError(
            f"html: expected a string, got {type(html).__name__}", field="html"
        )

    limit = MAX_MESSAGE_SIZE_V2 if api == "v2" else MAX_MESSAGE_SIZE_V1
    if parts or len(text or "") + len(html or "") > _BODY_SAFE_CHARS:
        size = _estimate_size(subject, text, html, parts, header_list)
        _check_size(size, limit, api, _size_field(parts, text))

    body: dict[str, Any] = {}
    if text is not None:
        body["Text"] = {"Data": text, "Charset": _UTF8}
    if html is not None:
        body["Html"] = {"Data": html, "Charset": _UTF8}

    if api == "v2":
        simple: dict[str, Any] = {"Subject": {"Data": subject, "Charset": _UTF8}, "Body": body}
        if header_list:
            simple["Headers"] = [{"Name": n, "Value": v} for n, v in header_list]
        if parts:
            simple["Attachments"] = [_v2_attachment(p) for p in parts]
        kwargs: dict[str, Any] = {
            "FromEmailAddress": source,
            "Destination": destination,
            "Content": {"Simple": simple},
        }
        if reply_list:
            kwargs["ReplyToAddresses"] = reply_list
        if tag_list:
            kwargs["EmailTags"] = tag_list
        if configuration_set is not None:
            kwargs["ConfigurationSetName"] = configuration_set
        return "send_email", kwargs

    if parts or header_list:
        raw = _build_mime(
            from_addr=source,
            to=to_list,
            cc=cc_list,
            reply_to=reply_list,
            subject=subject,
            text=text,
            html=html,
            attachments=parts,
            headers=header_list,
        )
        _check_size(len(raw), limit, api, _size_field(parts, text))
        kwargs = {
            "Source": source,
            "Destinations": to_list + cc_list + bcc_list,
            "RawMessage": {"Data": raw},
        }
        operation = "send_raw_email"
    else:
        kwargs = {
            "Source": source,
            "Destination": destination,
            "Message": {"Subject": {"Data": subject, "Charset": _UTF8}, "Body": body},
        }
        if reply_list:
            kwargs["ReplyToAddresses"] = reply_list
        operation = "send_email"
    if tag_list:
        kwargs["Tags"] = tag_list
    if configuration_set is not None:
        kwargs["ConfigurationSetName"] = configuration_set
    return operation, kwargs


def _build_template(
    api: str,
    *,
    source: str,
    destination: dict[str, list[str]],
    reply_list: list[str],
    subject: object,
    text: object,
    html: object,
    template: object,
    template_data: Mapping[str, Any] | str | None,
    parts: list[_Part],
    header_list: list[tuple[str, str]],
    configuration_set: str | None,
    tag_list: list[dict[str, str]] | None,
) -> tuple[str, dict[str, Any]]:
    clashing = [
        name
        for name, value in (("subject", subject), ("text", text), ("html", html))
        if value is not None
    ]
    if parts:
        clashing.append("attachments")
    if clashing:
        names = ", ".join(clashing)
        raise SESValidationError(
            f"template: a template brings its own subject and body; {names} cannot be "
            "combined with template=",
            field=clashing[0],
        )
    if not isinstance(template, str) or not template:
        raise SESValidationError("template: expected a non-empty template name", field="template")
    data = _template_data_json(template_data)
    if api == "v2":
        content: dict[str, Any] = {"TemplateName": template, "TemplateData": data}
        if header_list:
            content["Headers"] = [{"Name": n, "Value": v} for n, v in header_list]
        kwargs: dict[str, Any] = {
            "FromEmailAddress": source,
            "Destination": destination,
            "Content": {"Template": content},
        }
        if reply_list:
            kwargs["ReplyToAddresses"] = reply_list
        if tag_list:
            kwargs["EmailTags"] = tag_list
        if configuration_set is not None:
            kwargs["ConfigurationSetName"] = configuration_set
        return "send_email", kwargs
    if header_list:
        raise SESValidationError(
            "headers: SESv1 SendTemplatedEmail cannot carry custom headers; use api='v2' for "
            "templates with custom headers",
            field="headers",
        )
    kwargs = {
        "Source": source,
        "Destination": destination,
        "Template": template,
        "TemplateData": data,
    }
    if reply_list:
        kwargs["ReplyToAddresses"] = reply_list
    if tag_list:
        kwargs["Tags"] = tag_list
    if configuration_set is not None:
        kwargs["ConfigurationSetName"] = configuration_set
    return "send_templated_email", kwargs


def _template_data_json(template_data: Mapping[str, Any] | str | None) -> str:
    import json

    if template_data is None:
        return "{}"
    if isinstance(template_data, str):
        try:
            parsed = json.loads(template_data)
        except ValueError as exc:
            raise SESValidationError(
                f"template_data: not valid JSON: {exc}", field="template_data"
            ) from None
        if not isinstance(parsed, dict):
            raise SESValidationError(
                "template_data: the JSON must be an object of template variables",
                field="template_data",
            )
        data = template_data
    elif isinstance(template_data, Mapping):
        try:
            data = json.dumps(template_data, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise SESValidationError(
                f"template_data: cannot be encoded as JSON: {exc}", field="template_data"
            ) from None
    else:
        raise SESValidationError(
            "template_data: expected a dict or a JSON object string, got "
            f"{type(template_data).__name__}",
            field="template_data",
        )
    if len(data) > MAX_TEMPLATE_DATA_LENGTH:
        raise SESValidationError(
            f"template_data: {len(data)} characters of JSON; SES accepts at most "
            f"{MAX_TEMPLATE_DATA_LENGTH}",
            field="template_data",
        )
    return data


def _check_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]], api: str
) -> list[tuple[str, str]]:
    if isinstance(headers, Mapping):
        pairs: Iterable[Any] = headers.items()
    elif isinstance(headers, (str, bytes)) or not isinstance(headers, Iterable):
        raise SESValidationError(
            "headers: expected a dict of header name to value or a list of (name, value) pairs",
            field="headers",
        )
    else:
        pairs = headers
    result: list[tuple[str, str]] = []
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise SESValidationError(
                f"headers: expected (name, value) pairs, got {pair!r}", field="headers"
            )
        name, value = pair
        field = f"headers[{name!r}]"
        if not isinstance(name, str) or not isinstance(value, str):
            raise SESValidationError(
                f"{field}: header names and values must be strings", field=field
            )
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise SESValidationError(
                f"{field}: contains a line break (CR or LF), which is not allowed in a header",
                field=field,
            )
        if _HEADER_NAME_RE.fullmatch(name) is None:
            raise SESValidationError(
                f"{field}: not a valid header name (printable ASCII without spaces or ':')",
                field=field,
            )
        if name.lower() in _RESERVED_HEADERS:
            raise SESValidationError(
                f"{field}: {name} is set from the other send_email arguments and cannot be a "
                "custom header",
                field=field,
            )
        if api == "v2":
            # SESv2 wants printable ASCII; RFC 2047 carries anything else.
            value = encode_words(value)
            if len(name) > _MAX_HEADER_NAME:
                raise SESValidationError(
                    f"{field}: header name longer than {_MAX_HEADER_NAME} characters",
                    field=field,
                )
            if not value or len(value) > _MAX_HEADER_VALUE:
                raise SESValidationError(
                    f"{field}: header value must be 1 to {_MAX_HEADER_VALUE} characters "
                    "(after encoding)",
                    field=field,
                )
            if len(name) + len(value) > _MAX_HEADER_LINE:
                raise SESValidationError(
                    f"{field}: header name and value together exceed {_MAX_HEADER_LINE} characters",
                    field=field,
                )
        result.append((name, value))
    if api == "v2" and len(result) > MAX_HEADERS_V2:
        raise SESValidationError(
            f"headers: {len(result)} custom headers; SESv2 accepts at most {MAX_HEADERS_V2}",
            field="headers",
        )
    return result


def _check_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    if not isinstance(tags, Mapping):
        raise SESValidationError(
            f"tags: expected a dict of tag name to value, got {type(tags).__name__}", field="tags"
        )
    result: list[dict[str, str]] = []
    for name, value in tags.items():
        field = f"tags[{name!r}]"
        for what, item in (("name", name), ("value", value)):
            if not isinstance(item, str) or len(item) > _MAX_TAG or not _TAG_RE.fullmatch(item):
                raise SESValidationError(
                    f"{field}: tag {what} {item!r} must be 1 to {_MAX_TAG} ASCII letters, "
                    "digits, '_' or '-'",
                    field=field,
                )
        result.append({"Name": name, "Value": value})
    return result


def _coerce_attachments(attachments: Any) -> list[_Part]:
    # A single attachment passed without a list around it.
    if isinstance(attachments, (Attachment, PathLike)) or (
        isinstance(attachments, tuple) and attachments and isinstance(attachments[0], str)
    ):
        attachments = [attachments]
    elif isinstance(attachments, (str, bytes)) or not isinstance(attachments, Iterable):
        raise SESValidationError(
            "attachments: expected a list of Attachment, (filename, bytes[, content_type]) "
            "tuples or pathlib.Path objects",
            field="attachments",
        )
    parts: list[_Part] = []
    for index, item in enumerate(attachments):
        field = f"attachments[{index}]"
        inline = False
        content_id: str | None = None
        content_type: object = None
        if isinstance(item, Attachment):
            filename: object = item.filename
            content: object = item.content
            content_type = item.content_type
            inline = bool(item.inline)
            content_id = item.content_id
        elif isinstance(item, tuple) and len(item) in (2, 3):
            filename, content = item[0], item[1]
            if len(item) == 3:
                content_type = item[2]
        elif isinstance(item, PathLike):
            path = fspath(item)
            try:
                with open(path, "rb") as handle:
                    content = handle.read()
            except OSError as exc:
                raise SESValidationError(
                    f"{field}: cannot read {path!r}: {exc.strerror or exc}", field=field
                ) from None
            import os.path

            filename = os.path.basename(path)
        elif isinstance(item, str):
            raise SESValidationError(
                f"{field}: got the string {item!r}; pass pathlib.Path(...) to attach a file or "
                "Attachment(filename, content) for data",
                field=field,
            )
        else:
            raise SESValidationError(
                f"{field}: expected an Attachment, a (filename, bytes[, content_type]) tuple or "
                f"a pathlib.Path, got {type(item).__name__}",
                field=field,
            )
        parts.append(_check_part(field, filename, content, content_type, inline, content_id))
    return parts


def _check_part(
    field: str,
    filename: object,
    content: object,
    content_type: object,
    inline: bool,
    content_id: object,
) -> _Part:
    if not isinstance(filename, str) or not filename.strip():
        raise SESValidationError(f"{field}: the attachment needs a file name", field=field)
    if "\r" in filename or "\n" in filename:
        raise SESValidationError(
            f"{field}: file name {filename!r} contains a line break (CR or LF)", field=field
        )
    if len(filename) > _MAX_FILENAME:
        raise SESValidationError(
            f"{field}: file name longer than {_MAX_FILENAME} characters", field=field
        )
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension in BLOCKED_ATTACHMENT_EXTENSIONS:
        raise SESValidationError(
            f"{field}: SES does not accept attachments with the extension .{extension} "
            f"({filename!r})",
            field=field,
        )
    if isinstance(content, (bytearray, memoryview)):
        content = bytes(content)
    if not isinstance(content, bytes):
        raise SESValidationError(
            f"{field}: content must be bytes, got {type(content).__name__} (encode text first)",
            field=field,
        )
    if content_type is None:
        import mimetypes

        content_type = mimetypes.guess_type(filename, strict=False)[0] or (
            "application/octet-stream"
        )
    if not isinstance(content_type, str):
        raise SESValidationError(f"{field}: content type must be a string", field=field)
    if "\r" in content_type or "\n" in content_type:
        raise SESValidationError(
            f"{field}: content type {content_type!r} contains a line break (CR or LF)",
            field=field,
        )
    if len(content_type) > _MAX_CONTENT_TYPE or not _MIME_TYPE_RE.fullmatch(content_type):
        raise SESValidationError(
            f"{field}: {content_type!r} is not a valid content type (like 'application/pdf')",
            field=field,
        )
    if content_id is not None:
        if not isinstance(content_id, str):
            raise SESValidationError(f"{field}: content_id must be a string", field=field)
        if "\r" in content_id or "\n" in content_id:
            raise SESValidationError(
                f"{field}: content_id {content_id!r} contains a line break (CR or LF)",
                field=field,
            )
        content_id = content_id.strip().removeprefix("<").removesuffix(">")
        if not content_id or len(content_id) > _MAX_CONTENT_ID or not content_id.isascii():
            raise SESValidationError(
                f"{field}: content_id must be 1 to {_MAX_CONTENT_ID} ASCII characters",
                field=field,
            )
    return _Part(filename, content, content_type, inline, content_id)


def _v2_attachment(part: _Part) -> dict[str, Any]:
    attachment: dict[str, Any] = {
        "RawContent": part.content,
        "FileName": part.filename,
        "ContentType": part.content_type,
        "ContentDisposition": "INLINE" if part.inline else "ATTACHMENT",
        # SES's default transfer encoding is SEVEN_BIT, which would mangle binary
        # content; base64 is right for any byte string.
        "ContentTransferEncoding": "BASE64",
    }
    if part.content_id is not None:
        attachment["ContentId"] = part.content_id
    return attachment


def _b64_size(length: int) -> int:
    encoded = 4 * ((length + 2) // 3)
    return encoded + 2 * (encoded // 76)  # CRLF after every 76 characters


def _text_size(text: str | None) -> int:
    if not text:
        return 0
    if text.isascii():
        return len(text) + len(text) // 38  # quoted-printable soft breaks, roughly
    return _b64_size(len(text.encode("utf-8")))


def _estimate_size(
    subject: str,
    text: str | None,
    html: str | None,
    parts: list[_Part],
    header_list: list[tuple[str, str]],
) -> int:
    """The message size once MIME-encoded, from lengths alone (never encodes content)."""
    size = _SIZE_OVERHEAD + _text_size(subject) + _text_size(text) + _text_size(html)
    for name, value in header_list:
        size += len(name) + len(value) + 4
    for part in parts:
        size += _b64_size(len(part.content)) + _PART_OVERHEAD + 2 * len(part.filename)
    return size


def _size_field(parts: list[_Part], text: str | None) -> str:
    return "attachments" if parts else ("html" if text is None else "text")


def _check_size(size: int, limit: int, api: str, field: str) -> None:
    if size > limit:
        raise SESValidationError(
            f"{field}: the message is about {size / 1048576:.1f} MiB once encoded; SES {api} "
            f"accepts at most {limit // 1048576} MiB per message including attachments"
            + (" (the v2 API accepts 40 MiB)" if api == "v1" else ""),
            field=field,
        )


def _build_mime(
    *,
    from_addr: str,
    to: list[str],
    cc: list[str],
    reply_to: list[str],
    subject: str,
    text: str | None,
    html: str | None,
    attachments: list[_Part],
    headers: list[tuple[str, str]],
) -> bytes:
    """Build the MIME message ``SendRawEmail`` carries, with CRLF line ends.

    Inputs are already validated and normalised (see :func:`build_send`).  The
    structure is the usual one: ``multipart/alternative`` for text + HTML,
    ``multipart/related`` around the HTML when inline images reference it, and
    ``multipart/mixed`` around everything when there are attachments.  Bcc is
    deliberately not written: those recipients go in ``Destinations`` only.
    """
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import formatdate

    def addresses(values: list[str]) -> tuple[Address, ...]:
        # Address objects rather than strings: re-parsing a string whose
        # encoded-word name decodes to text with a comma loses the quoting.
        result = []
        for value in values:
            name, spec = split_normalized(value)
            local, _, domain = spec.rpartition("@")
            if len(local) >= 2 and local[0] == '"' and local[-1] == '"':
                local = re.sub(r"\\(.)", r"\1", local[1:-1])  # Address quotes it again
            result.append(Address(display_name=name, username=local, domain=domain))
        return tuple(result)

    # cte_type="7bit" makes the content manager pick quoted-printable or base64
    # for non-ASCII bodies; SES wants every part in 7-bit ASCII.
    message = EmailMessage(policy=SMTP.clone(cte_type="7bit"))
    message["From"] = addresses([from_addr])
    if to:
        message["To"] = addresses(to)
    if cc:
        message["Cc"] = addresses(cc)
    if reply_to:
        message["Reply-To"] = addresses(reply_to)
    message["Subject"] = subject
    custom_names = {name.lower() for name, _ in headers}
    if "date" not in custom_names:
        message["Date"] = formatdate(usegmt=True)
    for name, value in headers:
        try:
            message[name] = value
        except (ValueError, TypeError) as exc:
            field = f"headers[{name!r}]"
            raise SESValidationError(f"{field}: {exc}", field=field) from None

    if text is not None:
        message.set_content(text, subtype="plain", charset="utf-8")
        if html is not None:
            message.add_alternative(html, subtype="html", charset="utf-8")
    else:
        message.set_content(html or "", subtype="html", charset="utf-8")

    html_part = message.get_body(preferencelist=("html",)) if html is not None else None
    for part in attachments:
        maintype, subtype, params = _split_content_type(part.content_type)
        cid = f"<{part.content_id}>" if part.content_id else None
        if part.inline and html_part is not None:
            html_part.add_related(
                part.content,
                maintype,
                subtype,
                disposition="inline",
                filename=part.filename,
                cid=cid,
                params=params,
            )
        else:
            message.add_attachment(
                part.content,
                maintype,
                subtype,
                disposition="inline" if part.inline else "attachment",
                filename=part.filename,
                cid=cid,
                params=params,
            )
    # The stdlib stamps MIME-Version on every part it creates through
    # EmailMessage; it belongs on the top-level header block only.
    for sub in message.walk():
        if sub is not message:
            del sub["MIME-Version"]
    return message.as_bytes()


def _split_content_type(content_type: str) -> tuple[str, str, dict[str, str]]:
    main, _, rest = content_type.partition(";")
    maintype, _, subtype = main.strip().lower().partition("/")
    params: dict[str, str] = {}
    for item in rest.split(";"):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            params[key.strip().lower()] = value.strip().strip('"')
    return maintype, subtype, params


# --- HTML to plain text -----------------------------------------------------

_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "main",
        "nav",
        "ol",
        "section",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
    }
)
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"})
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})
_VOID_TAGS = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area"})
_SPACE_RE = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """Make a readable plain-text alternative of an HTML body.

    Paragraphs and headings become blank-line separated blocks, ``<br>`` and
    block elements line breaks, list items ``- item`` lines, table cells are
    separated by spaces, and a link becomes ``text (url)`` unless its text
    already is the URL.  Script, style and head content is dropped, entities
    are decoded and runs of whitespace collapse (except inside ``<pre>``).
    """
    from html.parser import HTMLParser

    class _TextExtractor(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.chunks: list[str] = []
            self.skip_depth = 0
            self.pre_depth = 0
            self.links: list[tuple[str | None, int]] = []
            self.pending_newlines = 0
            self.at_line_start = True

        # Newlines are requested, not written, so that nested blocks and
        # adjacent block ends produce one separator rather than a pile of them.
        def need_newlines(self, count: int) -> None:
            if self.chunks:
                self.pending_newlines = max(self.pending_newlines, count)

        def write(self, text: str) -> None:
            if not text:
                return
            if self.pending_newlines:
                self.chunks.append("\n" * self.pending_newlines)
                self.pending_newlines = 0
                self.at_line_start = True
            if self.at_line_start and not self.pre_depth:
                text = text.lstrip(" ")
                if not text:
                    return
            self.chunks.append(text)
            self.at_line_start = text.endswith("\n")

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in _SKIPPED_TAGS:
                if tag not in _VOID_TAGS:
                    self.skip_depth += 1
                return
            if self.skip_depth:
                return
            if tag == "br":
                self.chunks.append("\n" * max(self.pending_newlines, 1))
                self.pending_newlines = 0
                self.at_line_start = True
            elif tag in _PARAGRAPH_TAGS:
                self.need_newlines(2)
                if tag == "pre":
                    self.pre_depth += 1
                elif tag == "hr":
                    self.write("-" * 20)
                    self.need_newlines(2)
            elif tag == "li":
                self.need_newlines(1)
                self.write("- ")
            elif tag in _BLOCK_TAGS:
                self.need_newlines(1)
            elif tag in ("td", "th"):
                if not self.at_line_start and not self.pending_newlines:
                    self.write(" ")
            elif tag == "a":
                href = dict(attrs).get("href")
                self.links.append((href, len(self.chunks)))
            elif tag == "img":
                alt = dict(attrs).get("alt")
                if alt:
                    self.write(_SPACE_RE.sub(" ", alt))

        def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.handle_starttag(tag, attrs)
            if tag not in _VOID_TAGS:
                self.handle_endtag(tag)

        def handle_endtag(self, tag: str) -> None:
            if tag in _SKIPPED_TAGS:
                if self.skip_depth:
                    self.skip_depth -= 1
                return
            if self.skip_depth:
                return
            if tag in _PARAGRAPH_TAGS:
                if tag == "pre" and self.pre_depth:
                    self.pre_depth -= 1
                self.need_newlines(2)
            elif tag in _BLOCK_TAGS or tag == "li":
                self.need_newlines(1)
            elif tag == "a" and self.links:
                href, start = self.links.pop()
                label = "".join(self.chunks[start:]).strip()
                if href and not href.startswith(("#", "javascript:")):
                    shown = href.removeprefix("mailto:")
                    if shown != label and href != label:
                        self.write(f" ({shown})" if label else shown)

        def handle_data(self, data: str) -> None:
            if self.skip_depth:
                return
            if self.pre_depth:
                self.write(data.replace("\r\n", "\n"))
            else:
                self.write(_SPACE_RE.sub(" ", data))

    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.chunks)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip("\n")
