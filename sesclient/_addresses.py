"""Email address checking and normalisation for the high-level send API.

SES takes addresses as header-ready strings: 7-bit ASCII, a punycode (IDNA)
domain, and a display name that is either plain ASCII or MIME encoded-words.
These functions turn what a user typed (``"Doe, John" <j@example.com>``,
``Jürgen <j@bücher.de>``, a comma-separated string, a list) into exactly that,
or raise :class:`~sesclient._errors.SESValidationError` naming the argument.

The common case - a plain ASCII ``user@example.com`` - is one precompiled
regex match; everything else (display names, IDNA, splitting on commas that
sit outside quotes) happens on a slower path only when the input needs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sesclient._errors import SESValidationError

__all__ = [
    "MAX_ADDRESS_LENGTH",
    "MAX_LOCAL_PART_LENGTH",
    "encode_words",
    "normalize_address",
    "parse_recipients",
    "split_addresses",
    "split_normalized",
]

#: RFC 5321 caps a forward path at 256 octets including the angle brackets.
MAX_ADDRESS_LENGTH = 254
#: RFC 5321 section 4.5.3.1.1.
MAX_LOCAL_PART_LENGTH = 64

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
# Printable ASCII except '"' and '\', or a backslash-escaped printable character.
_QUOTED_LOCAL = r'"(?:[ !#-\[\]-~]|\\[ -~])*"'
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A top-level domain has at least two characters and starts with a letter, which
# also keeps bare IP addresses ("a@1.2.3.4") out.
_TLD = r"[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]"
_DOMAIN = rf"(?:{_LABEL}\.)+{_TLD}"

# The hot path: an unquoted ASCII address with nothing around it.
_PLAIN_RE = re.compile(rf"{_DOT_ATOM}@{_DOMAIN}")
_ADDR_SPEC_RE = re.compile(rf"(?:{_DOT_ATOM}|{_QUOTED_LOCAL})@{_DOMAIN}")
# The common display form, "Shop Name <user@example.com>" with a name of plain
# atoms, is also accepted as it stands without the slow path.
_SIMPLE_DISPLAY_RE = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)* <({_DOT_ATOM})@{_DOMAIN}>")
# A display name made of atoms and spaces needs no quoting.
_PHRASE_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# RFC 2047 caps an encoded-word at 75 characters; "=?utf-8?B?" + "?=" is 12 of
# them, leaving 63 for base64, i.e. 45 bytes of UTF-8 (60 base64 characters).
_ENCODED_WORD_BYTES = 45


def normalize_address(value: object, field: str, index: int | None = None) -> str:
    """Check one address and return it in the form SES accepts.

    ``value`` is ``user@example.com``, ``Name <user@example.com>``,
    ``"Doe, John" <user@example.com>`` or ``<user@example.com>``.  A non-ASCII
    domain is IDNA-encoded, a non-ASCII display name becomes RFC 2047
    encoded-words, and a display name with special characters is quoted.
    ``field`` (with ``index``, when given) names the argument in the error
    message: ``to[2]``.  The two are kept apart so that the name is only
    formatted when there is an error to report.
    """
    if (
        type(value) is str
        and _PLAIN_RE.fullmatch(value) is not None
        and len(value) <= MAX_ADDRESS_LENGTH
        and value.index("@") <= MAX_LOCAL_PART_LENGTH
    ):
        return value
    if type(value) is str and value.endswith(">"):
        match = _SIMPLE_DISPLAY_RE.fullmatch(value)
        if (
            match is not None
            and len(value) - match.start(1) - 1 <= MAX_ADDRESS_LENGTH
            and len(match.group(1)) <= MAX_LOCAL_PART_LENGTH
        ):
            return value
    return _normalize_slow(value, field if index is None else f"{field}[{index}]")


def parse_recipients(value: object, *, field: str = "to") -> list[str]:
    """Turn a recipient argument into a list of normalised addresses.

    ``value`` is ``None``, a string holding one address or several separated
    by commas (commas inside a quoted display name do not split), or an
    iterable of strings (each one address).  Blank items, such as the one a
    trailing comma leaves, are dropped; an empty result is returned as ``[]``
    and it is for the caller to decide whether that is an error.  Errors name
    the item by its position: ``to[2]``.
    """
    if value is None:
        return []
    if isinstance(value, str):
        if "," not in value:
            if not value or value.isspace():
                return []
            return [normalize_address(value, field, 0)]
        items: list[object] = list(split_addresses(value))
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        items = list(value)
    else:
        raise SESValidationError(
            f"{field}: expected a string or a list of strings, got {type(value).__name__}",
            field=field,
        )
    result: list[str] = []
    for index, item in enumerate(items):
        if type(item) is str and (not item or item.isspace()):
            continue
        result.append(normalize_address(item, field, index))
    return result


def split_addresses(value: str) -> list[str]:
    """Split a comma-separated address string on the commas outside quotes.

    ``'"Doe, John" <j@x.com>, a@y.com'`` gives two items.  Items are not
    stripped; an unterminated quote leaves the rest of the string in one item,
    which then fails address validation with a readable message.
    """
    if '"' not in value:
        return value.split(",")
    parts: list[str] = []
    start = 0
    in_quotes = False
    escaped = False
    for index, char in enumerate(value):
        if escaped:
            escaped = False
        elif in_quotes:
            if char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == ",":
            parts.append(value[start:index])
            start = index + 1
    parts.append(value[start:])
    return parts


def split_normalized(address: str) -> tuple[str, str]:
    """Split an address returned by :func:`normalize_address` into (name, addr-spec).

    The display name comes back as readable text: quotes removed, encoded-words
    decoded; it is ``""`` for a bare address.  For building headers with the
    ``email`` package, whose ``Address`` objects then do their own encoding.
    """
    if not address.endswith(">"):
        return "", address
    open_at = address.rfind("<")
    name = address[:open_at].strip()
    spec = address[open_at + 1 : -1]
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    elif "=?" in name:
        from email.header import decode_header, make_header

        try:
            name = str(make_header(decode_header(name)))
        except (UnicodeError, LookupError, ValueError):
            pass  # not decodable after all: keep the text as written
    return name, spec


def encode_words(text: str) -> str:
    """Encode non-ASCII text as RFC 2047 UTF-8 base64 encoded-words.

    Long text becomes several encoded-words separated by spaces, each within
    the 75-character limit, never splitting a character across two words.
    ASCII text is returned unchanged.
    """
    if text.isascii():
        return text
    from base64 import b64encode

    words: list[str] = []
    chunk = bytearray()
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _ENCODED_WORD_BYTES:
            words.append(f"=?utf-8?B?{b64encode(chunk).decode('ascii')}?=")
            chunk = bytearray()
        chunk += encoded
    if chunk:
        words.append(f"=?utf-8?B?{b64encode(chunk).decode('ascii')}?=")
    return " ".join(words)


def _invalid(original: object, field: str, why: str = "") -> SESValidationError:
    reason = f" ({why})" if why else ""
    return SESValidationError(
        f"{field}: {original!r} is not a valid email address{reason}", field=field
    )


def _normalize_slow(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise SESValidationError(
            f"{field}: expected an email address string, got {type(value).__name__}",
            field=field,
        )
    if "\r" in value or "\n" in value:
        raise SESValidationError(
            f"{field}: {value!r} contains a line break (CR or LF), which is not allowed "
            "in an address",
            field=field,
        )
    if _CONTROL_RE.search(value):
        raise SESValidationError(f"{field}: {value!r} contains a control character", field=field)
    text = value.strip()
    if not text:
        raise SESValidationError(f"{field}: the address is empty", field=field)
    name: str | None = None
    if text.endswith(">"):
        # The address is the last <...>; a quoted display name may itself hold '<'.
        open_at = text.rfind("<")
        if open_at < 0:
            raise _invalid(value, field)
        name = _parse_display_name(text[:open_at].strip(), value, field)
        spec = text[open_at + 1 : -1].strip()
    else:
        if "<" in text or ">" in text:
            raise _invalid(value, field)
        spec = text
    spec = _normalize_addr_spec(spec, value, field)
    if not name:
        return spec
    return f"{_format_display_name(name)} <{spec}>"


def _parse_display_name(part: str, original: str, field: str) -> str:
    if len(part) >= 2 and part[0] == '"' and part[-1] == '"':
        inner = part[1:-1]
        # Only a single quoted-string is unquoted here; anything else keeps its
        # characters literally and gets re-quoted on output.
        unescaped: list[str] = []
        escaped = False
        single = True
        for char in inner:
            if escaped:
                unescaped.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                single = False
                break
            else:
                unescaped.append(char)
        if single and not escaped:
            return "".join(unescaped)
    if part.count('"') % 2:
        raise _invalid(original, field, "unbalanced quote in the display name")
    return part


def _format_display_name(name: str) -> str:
    if not name.isascii():
        return encode_words(name)
    if _PHRASE_RE.fullmatch(name):
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _normalize_addr_spec(spec: str, original: str, field: str) -> str:
    if not spec or "@" not in spec:
        raise _invalid(original, field)
    if not spec.isascii():
        local, _, domain = spec.rpartition("@")
        if not local.isascii():
            raise SESValidationError(
                f"{field}: {original!r} has non-ASCII characters before the '@'; SES does not "
                "support internationalised local parts (SMTPUTF8), only internationalised "
                "domains",
                field=field,
            )
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise _invalid(original, field, f"the domain cannot be IDNA-encoded: {exc}") from None
        spec = f"{local}@{domain}"
    if _ADDR_SPEC_RE.fullmatch(spec) is None:
        raise _invalid(original, field)
    if len(spec) > MAX_ADDRESS_LENGTH:
        raise _invalid(original, field, f"longer than {MAX_ADDRESS_LENGTH} characters")
    if spec.rindex("@") > MAX_LOCAL_PART_LENGTH:
        raise _invalid(
            original,
            field,
            f"the part before '@' is longer than {MAX_LOCAL_PART_LENGTH} characters",
        )
    return spec
