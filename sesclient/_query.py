"""SES v1's Query protocol, in both directions, as pure functions.

Client side: boto3-shaped parameters become a form-encoded POST body
(``Action``, ``Version``, structures flattened with dots, lists as
``.member.N``, maps as ``.entry.N.key``/``.value``), and XML replies become
boto3-shaped dicts.  Server side (the local endpoint): the inverse, from the
same tables, so that both ends agree by construction.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus

from ._errors import SESValidationError
from ._timestamps import UTC, format_iso8601, parse_iso8601, to_datetime

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

_Shapes = Mapping[str, tuple[Any, ...]]

CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
_SAFE = "-_.~"


_TABLES: Any = None


def _tables() -> Any:
    global _TABLES
    if _TABLES is None:
        from ._models import load

        _TABLES = load("v1")
    return _TABLES


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
    flat: dict[str, str] = {}
    for pair in body.decode("utf-8", "replace").split("&"):
        if pair:
            key, _, value = pair.partition("=")
            if "%" in key or "+" in key:
                key = unquote_plus(key)
            flat[key] = unquote_plus(value) if "%" in value or "+" in value else value
    action = flat.pop("Action", "")
    flat.pop("Version", None)
    snake = _snake_names(tables).get(action)
    if snake is None:
        raise SESValidationError(
            f"Unrecognized action: {action or '(none)'}", code="InvalidAction", field="Action"
        )
    op = tables.OPERATIONS[snake]
    params: dict[str, Any] = {}
    if op[3] is not None:
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
            params = _unflatten(tables.SHAPES, op[3], flat, prefixes, "")
        except (ValueError, TypeError) as exc:
            raise SESValidationError(str(exc), code="InvalidParameterValue") from None
        from ._validation import validate

        try:
            validate(tables.SHAPES, op[3], params)
        except SESValidationError as exc:
            raise SESValidationError(exc.message, code="ValidationError", field=exc.field) from None
    return action, params


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
    tables = _tables()
    op = _operation(tables, operation)
    parts = [f'<{operation}Response xmlns="{tables.XML_NAMESPACE}">']
    if op[4] is not None:
        parts.append(f"<{op[5]}>")
        _emit_members(tables.SHAPES, op[4], result, parts)
        parts.append(f"</{op[5]}>")
    parts.append(
        f"<ResponseMetadata><RequestId>{_escape(request_id)}</RequestId></ResponseMetadata>"
        f"</{operation}Response>"
    )
    return "".join(parts).encode()


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
