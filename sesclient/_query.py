"""SES v1's Query protocol, in both directions, as pure functions.

Client side: boto3-shaped parameters become a form-encoded POST body
(``Action``, ``Version``, structures flattened with dots, lists as
``.member.N``, maps as ``.entry.N.key``/``.value``), and XML replies become
boto3-shaped dicts.  Server side (the local endpoint): the inverse, from the
same tables, so that both ends agree by construction.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus, unquote_to_bytes

from ._errors import SESValidationError
from ._models import load
from ._shape_compiler import compiled
from ._timestamps import UTC, format_iso8601, parse_iso8601, to_datetime

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

_Shapes = Mapping[str, tuple[Any, ...]]

CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
_SAFE = "-_.~"


def _tables() -> Any:
    return load("v1")


# --------------------------------------------------------------------- client


def serialize_request(operation: str, params: Mapping[str, Any]) -> bytes:
    """The form body for ``operation`` (e.g. ``"SendEmail"``) with ``params``."""
    tables = _tables()
    pairs: list[tuple[str, str]] = [("Action", operation), ("Version", tables.API_VERSION)]
    input_shape = _operation(tables, operation)[3]
    if input_shape is not None and params:
        _flatten(tables.SHAPES, input_shape, params, "", pairs)
    return "&".join(f"{quote(k, _SAFE)}={quote(v, _SAFE)}" for k, v in pairs).encode()


def _flatten(
    shapes: _Shapes, shape_name: str, value: Any, prefix: str, out: list[tuple[str, str]]
) -> None:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "structure":
        members = shape[1]
        for name, item in value.items():
            if item is not None:
                _flatten(shapes, members[name], item, f"{prefix}.{name}" if prefix else name, out)
    elif kind == "string":
        out.append((prefix, value))
    elif kind == "list":
        if not value:
            out.append((prefix, ""))
            return
        member = shape[1]
        for index, item in enumerate(value, 1):
            _flatten(shapes, member, item, f"{prefix}.member.{index}", out)
    elif kind == "map":
        for index, (key, item) in enumerate(value.items(), 1):
            _flatten(shapes, shape[1], key, f"{prefix}.entry.{index}.key", out)
            _flatten(shapes, shape[2], item, f"{prefix}.entry.{index}.value", out)
    elif kind == "boolean":
        out.append((prefix, "true" if value else "false"))
    elif kind == "blob":
        data = value.encode() if isinstance(value, str) else bytes(value)
        out.append((prefix, base64.b64encode(data).decode()))
    elif kind == "timestamp":
        out.append((prefix, format_iso8601(to_datetime(value))))
    else:
        out.append((prefix, str(value)))


def parse_response(
    operation: str, status_code: int, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """A successful XML reply as the dict boto3's ``ses`` client returns."""
    from xml.etree.ElementTree import fromstring

    tables = _tables()
    op = _operation(tables, operation)
    root = fromstring(body)
    parsed: dict[str, Any] = {}
    request_id = None
    for child in root:
        tag = _local(child.tag)
        if tag == op[5] and op[4] is not None:
            parsed = _parse_structure(tables.SHAPES, op[4], child)
        elif tag == "ResponseMetadata":
            for meta in child:
                if _local(meta.tag) == "RequestId":
                    request_id = meta.text
    parsed["ResponseMetadata"] = response_metadata(status_code, headers, request_id)
    return parsed


def response_metadata(
    status_code: int, headers: dict[str, str], request_id: str | None
) -> dict[str, Any]:
    """botocore's ``ResponseMetadata``; the header wins when the body has no id.

    ``headers`` must have lower-case names; it becomes ``HTTPHeaders`` as it is.
    """
    if request_id is None:
        request_id = headers.get("x-amzn-requestid") or headers.get("x-amz-request-id")
    metadata: dict[str, Any] = {}
    if request_id is not None:
        metadata["RequestId"] = request_id
    metadata["HTTPStatusCode"] = status_code
    metadata["HTTPHeaders"] = headers
    metadata["RetryAttempts"] = 0
    return metadata


def parse_error(body: bytes) -> tuple[str, str, str | None, str | None]:
    """``(code, message, type, request_id)`` from an ``ErrorResponse`` document.

    A body that is not the expected XML (a proxy's HTML page, say) yields an
    empty code, and the caller falls back on the HTTP status.
    """
    from xml.etree.ElementTree import ParseError, fromstring

    code = message = ""
    error_type = request_id = None
    try:
        root = fromstring(body)
    except ParseError:
        return code, body[:200].decode("utf-8", "replace").strip(), None, None
    for element in root.iter():
        tag = _local(element.tag)
        if tag == "Code":
            code = element.text or ""
        elif tag == "Message":
            message = element.text or ""
        elif tag == "Type":
            error_type = element.text
        elif tag == "RequestId":
            request_id = element.text
    return code, message, error_type, request_id


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _parse_structure(shapes: _Shapes, shape_name: str, element: Element) -> dict[str, Any]:
    members = shapes[shape_name][1]
    result: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        member = members.get(name)
        if member is not None:
            result[name] = _parse_value(shapes, member, child)
    return result


def _parse_value(shapes: _Shapes, shape_name: str, element: Element) -> Any:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "structure":
        return _parse_structure(shapes, shape_name, element)
    if kind == "list":
        member = shape[1]
        return [_parse_value(shapes, member, item) for item in element]
    if kind == "map":
        parsed = {}
        for entry in element:
            key = value = None
            for part in entry:
                if _local(part.tag) == "key":
                    key = part.text or ""
                else:
                    value = part
            if key is not None and value is not None:
                parsed[key] = _parse_value(shapes, shape[2], value)
        return parsed
    return _scalar(kind, element.text or "")


def _scalar(kind: str, text: str) -> Any:
    if kind == "string":
        return text
    if kind == "integer":
        return int(text)
    if kind == "double":
        return float(text)
    if kind == "boolean":
        return text.strip().lower() == "true"
    if kind == "timestamp":
        return parse_iso8601(text)
    if kind == "blob":
        return base64.b64decode(text)
    raise ValueError(f"unknown scalar kind {kind!r}")


def _operation(tables: Any, operation: str) -> tuple[Any, ...]:
    return tables.OPERATIONS[_snake_names(tables)[operation]]


_SNAKE: dict[str, str] = {}


def _snake_names(tables: Any) -> dict[str, str]:
    if not _SNAKE:
        _SNAKE.update({op[0]: snake for snake, op in tables.OPERATIONS.items()})
    return _SNAKE


# --------------------------------------------------------------------- server


def decode_query_request(body: bytes) -> tuple[str, dict[str, Any]]:
    """``(OperationName, boto3-shaped params)`` from a form-encoded request body.

    Raises :class:`SESValidationError` with ``code`` ``InvalidAction`` for an
    unknown action and ``ValidationError`` / ``InvalidParameterValue`` for
    malformed or missing parameters, as SES does.
    """
    tables = _tables()
    text = _unquoted_form(body)
    by_piece = text is None
    if by_piece:
        text = body.decode("utf-8", "replace")
    # The keys as a tree: "Message.Subject.Data=x" is tree["Message"]["Subject"]["Data"][None].
    tree: dict[Any, Any] = {}
    action = ""
    for pair in text.split("&"):  # type: ignore[union-attr]
        if pair:
            key, _, value = pair.partition("=")
            if by_piece:
                if "%" in key or "+" in key:
                    key = unquote_plus(key)
                if "%" in value or "+" in value:
                    value = _unquote_plus(value)
            if key == "Action":
                action = value
                continue
            if key == "Version":
                continue
            node = tree
            for part in key.split("."):
                child = node.get(part)
                if child is None:
                    child = node[part] = {}
                node = child
            node[None] = value
    snake = _snake_names(tables).get(action)
    if snake is None:
        raise SESValidationError(
            f"Unrecognized action: {action or '(none)'}", code="InvalidAction", field="Action"
        )
    op = tables.OPERATIONS[snake]
    params: dict[str, Any] = {}
    if op[3] is not None:
        try:
            params = _decoder(tables.SHAPES, op[3])(tree)  # type: ignore[misc]
        except _Irregular:
            # Something is missing, malformed or out of bounds: the exact walk
            # below finds it and words the error.
            params = _decode_exactly(tables.SHAPES, op[3], body)
    return action, params


# Escapes of the ASCII range, both hex cases: what form bodies mostly hold.
_ASCII_ESCAPES = {f"{code:02x}": chr(code) for code in range(128)} | {
    f"{code:02X}": chr(code) for code in range(128)
}


def _unquoted_form(body: bytes) -> str | None:
    """The whole form body unquoted at once, when that equals unquoting it piece by piece.

    True unless an escape stands for a separator (``&`` or ``=``) or the
    body is not ASCII; None then, and the caller splits first.  (A valid
    UTF-8 sequence never spans a separator, so decoding the whole is
    decoding the pieces.)
    """
    if not body.isascii():
        return None
    text = body.decode("ascii")
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    if "%26" in text or "%3D" in text or "%3d" in text:
        return None
    parts = text.split("%")
    escapes = _ASCII_ESCAPES
    try:
        return parts[0] + "".join([escapes[part[:2]] + part[2:] for part in parts[1:]])
    except KeyError:
        pass
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _unquote_plus(value: str) -> str:
    """``unquote_plus(value)``, without its general machinery when every escape is ASCII."""
    if "+" in value:
        value = value.replace("+", " ")
    parts = value.split("%")
    try:
        escapes = _ASCII_ESCAPES
        return parts[0] + "".join([escapes[part[:2]] + part[2:] for part in parts[1:]])
    except KeyError:
        return unquote_plus(value)


class _Irregular(Exception):
    """The fast decoding met something it leaves to :func:`_decode_exactly`."""


# A decoder takes a subtree of the key tree and returns the value it stands for.
_Decoder = Callable[[dict[Any, Any]], Any]
# Per shape name; None stands for a string without limits, read in place.
_DECODERS: dict[str, _Decoder | None] = {}


def _decoder(shapes: _Shapes, shape_name: str) -> _Decoder | None:
    """The decoder of ``shape_name``, built on first use.

    Decoding gives the same result as :func:`_unflatten` followed by a
    successful :func:`~sesclient._validation.validate`, for the requests that
    pass both; anything else raises :class:`_Irregular`.  Values built here
    have the right types by construction, so only what validation adds to
    that is checked: required members, lengths, ranges and enums.
    """
    return compiled(_DECODERS, shape_name, lambda name: _compile(shapes, name))


def _compile(shapes: _Shapes, shape_name: str) -> _Decoder | None:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "string":
        if shape[1] is None and shape[2] is None and shape[3] is None:
            return None

        def decode_string(node: dict[Any, Any]) -> Any:
            text = node.get(None)
            if text is None:
                raise _Irregular
            _check_string(shape, text)
            return text

        return decode_string
    if kind == "structure":
        plan = tuple((name, _decoder(shapes, member)) for name, member in shape[1].items())
        required = shape[2]

        def decode_structure(node: dict[Any, Any]) -> Any:
            result = {}
            for name, decode in plan:
                child = node.get(name)
                if child is not None:
                    if decode is None:
                        text = child.get(None)
                        if text is None:
                            raise _Irregular
                        result[name] = text
                    else:
                        result[name] = decode(child)
            for name in required:
                if name not in result:
                    raise _Irregular
            return result

        return decode_structure
    if kind == "list":
        item = _decoder(shapes, shape[1])
        low, high = shape[2], shape[3]

        def decode_list(node: dict[Any, Any]) -> Any:
            items = []
            listed = node.get("member")
            if listed is not None:
                index = 1
                while True:
                    child = listed.get(str(index))
                    if child is None:
                        break
                    if item is None:
                        text = child.get(None)
                        if text is None:
                            raise _Irregular
                        items.append(text)
                    else:
                        items.append(item(child))
                    index += 1
            _check_size(len(items), low, high)
            return items

        return decode_list
    if kind == "map":
        key_shape = shapes[shape[1]]
        if key_shape[0] != "string":
            return _always_irregular
        value_decoder = _decoder(shapes, shape[2])

        def decode_map(node: dict[Any, Any]) -> Any:
            mapping = {}
            entries = node.get("entry")
            if entries is not None:
                index = 1
                while True:
                    entry = entries.get(str(index))
                    if entry is None:
                        break
                    key_node = entry.get("key")
                    key = key_node.get(None, "") if key_node is not None else ""
                    _check_string(key_shape, key)
                    value_node = entry.get("value") or {}
                    if value_decoder is None:
                        value = value_node.get(None)
                        if value is None:
                            raise _Irregular
                    else:
                        value = value_decoder(value_node)
                    mapping[key] = value
                    index += 1
            _check_size(len(mapping), shape[3], shape[4])
            return mapping

        return decode_map

    def decode_scalar(node: dict[Any, Any]) -> Any:
        text = node.get(None)
        if text is None or (kind == "boolean" and text.lower() not in ("true", "false")):
            raise _Irregular
        try:
            value = _scalar(kind, text)
        except (ValueError, TypeError):
            raise _Irregular from None
        if kind == "blob":
            _check_size(len(value), shape[1], shape[2])
        elif kind == "integer" or kind == "double":
            _check_range(value, shape[1], shape[2])
        return value

    return decode_scalar


def _always_irregular(node: dict[Any, Any]) -> Any:
    raise _Irregular


def _check_string(shape: tuple[Any, ...], text: str) -> None:
    _check_size(len(text), shape[1], shape[2])
    if shape[3] is not None and text not in shape[3]:
        raise _Irregular


def _check_size(size: int, low: int | None, high: int | None) -> None:
    if (low is not None and size < low) or (high is not None and size > high):
        raise _Irregular


def _check_range(number: float, low: float | None, high: float | None) -> None:
    if (low is not None and number < low) or (high is not None and number > high):
        raise _Irregular


def _decode_exactly(shapes: _Shapes, input_shape: str, body: bytes) -> dict[str, Any]:
    """The parameters by the book: every key and prefix, the full walk, then validation."""
    flat: dict[str, str] = {}
    for pair in body.decode("utf-8", "replace").split("&"):
        if pair:
            key, _, value = pair.partition("=")
            flat[unquote_plus(key)] = unquote_plus(value)
    flat.pop("Action", None)
    flat.pop("Version", None)
    prefixes: set[str] = set()
    for key in flat:
        # Every dotted prefix of every key, so that members are found by lookup.
        while key not in prefixes:
            prefixes.add(key)
            cut = key.rfind(".")
            if cut < 0:
                break
            key = key[:cut]
    try:
        params = _unflatten(shapes, input_shape, flat, prefixes, "")
    except (ValueError, TypeError) as exc:
        raise SESValidationError(str(exc), code="InvalidParameterValue") from None
    from ._validation import validate

    try:
        validate(shapes, input_shape, params)
    except SESValidationError as exc:
        raise SESValidationError(exc.message, code="ValidationError", field=exc.field) from None
    return params


def _unflatten(
    shapes: _Shapes, shape_name: str, flat: Mapping[str, str], prefixes: set[str], prefix: str
) -> Any:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "structure":
        result = {}
        for name, member in shape[1].items():
            path = f"{prefix}.{name}" if prefix else name
            if path in prefixes:
                result[name] = _unflatten(shapes, member, flat, prefixes, path)
        return result
    if kind == "list":
        items = []
        index = 1
        while f"{prefix}.member.{index}" in prefixes:
            items.append(_unflatten(shapes, shape[1], flat, prefixes, f"{prefix}.member.{index}"))
            index += 1
        return items
    if kind == "map":
        mapping = {}
        index = 1
        while f"{prefix}.entry.{index}" in prefixes:
            entry = f"{prefix}.entry.{index}"
            key = flat.get(f"{entry}.key", "")
            mapping[key] = _unflatten(shapes, shape[2], flat, prefixes, f"{entry}.value")
            index += 1
        return mapping
    text = flat.get(prefix)
    if text is None:
        raise ValueError(f"Value for parameter {prefix} is invalid: expected a scalar")
    if kind == "boolean" and text.lower() not in ("true", "false"):
        raise ValueError(f"Value {text!r} for parameter {prefix} is invalid: not a boolean")
    return _scalar(kind, text)


def encode_query_response(operation: str, result: Mapping[str, Any], *, request_id: str) -> bytes:
    """The XML document SES sends for a successful ``operation``."""
    head, output_shape, tail = _response_frame(operation)
    parts = [head]
    if output_shape is not None:
        _emit_members(_tables().SHAPES, output_shape, result, parts)
    parts.append(tail)
    parts.append(_escape(request_id))
    parts.append(f"</RequestId></ResponseMetadata></{operation}Response>")
    return "".join(parts).encode()


# operation -> (opening tags, output shape, tags up to the request id's value)
_FRAMES: dict[str, tuple[str, str | None, str]] = {}


def _response_frame(operation: str) -> tuple[str, str | None, str]:
    frame = _FRAMES.get(operation)
    if frame is None:
        tables = _tables()
        op = _operation(tables, operation)
        head = f'<{operation}Response xmlns="{tables.XML_NAMESPACE}">'
        tail = "<ResponseMetadata><RequestId>"
        if op[4] is not None:
            head += f"<{op[5]}>"
            tail = f"</{op[5]}>{tail}"
        frame = _FRAMES[operation] = (head, op[4], tail)
    return frame


def encode_query_error(
    code: str, message: str, *, request_id: str, sender_fault: bool = True
) -> bytes:
    """An ``ErrorResponse`` document in the 2010-12-01 namespace."""
    fault = "Sender" if sender_fault else "Receiver"
    return (
        '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
        f"<Error><Type>{fault}</Type><Code>{_escape(code)}</Code>"
        f"<Message>{_escape(message)}</Message></Error>"
        f"<RequestId>{_escape(request_id)}</RequestId></ErrorResponse>"
    ).encode()


def _emit_members(
    shapes: _Shapes, shape_name: str, value: Mapping[str, Any], parts: list[str]
) -> None:
    members = shapes[shape_name][1]
    for name, member in members.items():
        item = value.get(name)
        if item is not None:
            parts.append(f"<{name}>")
            _emit_value(shapes, member, item, parts)
            parts.append(f"</{name}>")


def _emit_value(shapes: _Shapes, shape_name: str, value: Any, parts: list[str]) -> None:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "structure":
        _emit_members(shapes, shape_name, value, parts)
    elif kind == "list":
        for item in value:
            parts.append("<member>")
            _emit_value(shapes, shape[1], item, parts)
            parts.append("</member>")
    elif kind == "map":
        for key, item in value.items():
            parts.append(f"<entry><key>{_escape(str(key))}</key><value>")
            _emit_value(shapes, shape[2], item, parts)
            parts.append("</value></entry>")
    elif kind == "boolean":
        parts.append("true" if value else "false")
    elif kind == "timestamp":
        stamp = to_datetime(value).astimezone(UTC)
        parts.append(stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z")
    elif kind == "blob":
        parts.append(base64.b64encode(value).decode())
    else:
        parts.append(_escape(str(value)))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
