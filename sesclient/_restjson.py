"""SESv2's REST-JSON protocol, in both directions, as pure functions.

Client side: boto3-shaped parameters become a method, a path with
percent-encoded labels, a query string and a JSON body; JSON replies and
errors become boto3-shaped dicts and error codes.  Server side (the local
endpoint): the inverse, from the same tables.

Most of SESv2's shapes hold neither blobs nor timestamps; the tables mark the
ones that do (``deep``), and everything else passes through :mod:`json`
untouched instead of being walked member by member.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote

from ._errors import SESValidationError
from ._models import load
from ._shape_compiler import compiled
from ._timestamps import format_iso8601, from_epoch, to_datetime, to_epoch

_Shapes = Mapping[str, tuple[Any, ...]]

CONTENT_TYPE = "application/json"
_SAFE = "-_.~"
_LABEL = re.compile(r"\{([^}]+)\}")
# One encoder for every call: json.dumps with any option builds a new one each time.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def _tables() -> Any:
    return load("v2")


# --------------------------------------------------------------------- client


def serialize_request(
    operation: tuple[Any, ...], params: Mapping[str, Any]
) -> tuple[str, str, bytes]:
    """``(method, path_and_query, body)`` for one operation-table entry."""
    shapes = _tables().SHAPES
    _, method, uri, input_shape, _, _ = operation
    if input_shape is None:
        return method, uri, b""
    shape = shapes[input_shape]
    members, locations = shape[1], shape[3]
    if not locations:
        body_params: Mapping[str, Any] = params
        if None in params.values():  # an argument passed as None is left out, as boto3 does
            body_params = {k: v for k, v in params.items() if v is not None}
    else:
        body_params = {}
        labels: dict[str, str] = {}
        query: list[tuple[str, str]] = []
        for name, value in params.items():
            if value is None:
                continue
            location = locations.get(name)
            if location is None:
                body_params[name] = value  # type: ignore[index]
            elif location[0] == "uri":
                labels[location[1]] = _uri_value(shapes, members[name], value)
            else:
                _query_values(shapes, members[name], location[1], value, query)
        uri = _render_uri(uri, labels)
        if query:
            uri += "?" + "&".join(f"{quote(k, _SAFE)}={quote(v, _SAFE)}" for k, v in query)
    if body_params:
        if shape[4]:
            body_params = _encode_structure(shapes, input_shape, body_params)
        body = _ENCODE(body_params).encode()
    elif len(locations) < len(members):
        body = b"{}"
    else:
        body = b""
    return method, uri, body


def _render_uri(template: str, labels: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.endswith("+"):
            return quote(labels[name[:-1]], "/~" + _SAFE)
        return quote(labels[name], _SAFE)

    return _LABEL.sub(replace, template)


def _uri_value(shapes: _Shapes, shape_name: str, value: Any) -> str:
    kind = shapes[shape_name][0]
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return format_iso8601(to_datetime(value))
    return str(value)


def _query_values(
    shapes: _Shapes, shape_name: str, key: str, value: Any, query: list[tuple[str, str]]
) -> None:
    shape = shapes[shape_name]
    if shape[0] == "list":
        for item in value:
            query.append((key, _uri_value(shapes, shape[1], item)))
    elif shape[0] == "map":
        for map_key, item in value.items():
            query.append((map_key, _uri_value(shapes, shape[2], item)))
    else:
        query.append((key, _uri_value(shapes, shape_name, value)))


def _encode_structure(shapes: _Shapes, shape_name: str, value: Mapping[str, Any]) -> dict:
    members = shapes[shape_name][1]
    encoded = {}
    for name, item in value.items():
        if item is not None:
            encoded[name] = _encode(shapes, members[name], item)
    return encoded


def _encode(shapes: _Shapes, shape_name: str, value: Any) -> Any:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "structure":
        return _encode_structure(shapes, shape_name, value) if shape[4] else value
    if kind == "list":
        return [_encode(shapes, shape[1], item) for item in value] if shape[4] else value
    if kind == "map":
        return {k: _encode(shapes, shape[2], v) for k, v in value.items()} if shape[5] else value
    if kind == "blob":
        data = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(data).decode()
    if kind == "timestamp":
        return to_epoch(to_datetime(value))
    return value


def parse_response(
    operation: tuple[Any, ...], status_code: int, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """A successful JSON reply as the dict boto3's ``sesv2`` client returns."""
    output_shape = operation[4]
    parsed: dict[str, Any] = json.loads(body) if body else {}
    if output_shape is not None and parsed:
        shapes = _tables().SHAPES
        if shapes[output_shape][4]:
            parsed = _decode_structure(shapes, output_shape, parsed)
    from ._query import response_metadata

    parsed["ResponseMetadata"] = response_metadata(status_code, headers, None)
    return parsed


def _decode_structure(shapes: _Shapes, shape_name: str, value: Mapping[str, Any]) -> dict:
    members = shapes[shape_name][1]
    decoded = {}
    for name, item in value.items():
        member = members.get(name)
        if member is not None and item is not None:
            decoded[name] = _decode(shapes, member, item)
    return decoded


def _decode(shapes: _Shapes, shape_name: str, value: Any) -> Any:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "structure":
        return _decode_structure(shapes, shape_name, value) if shape[4] else value
    if kind == "list":
        return [_decode(shapes, shape[1], item) for item in value] if shape[4] else value
    if kind == "map":
        return {k: _decode(shapes, shape[2], v) for k, v in value.items()} if shape[5] else value
    if kind == "blob":
        return base64.b64decode(value)
    if kind == "timestamp":
        return from_epoch(value) if isinstance(value, (int, float)) else to_datetime(value)
    return value


def parse_error(headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """``(code, message)`` from ``x-amzn-ErrorType``, ``__type`` or ``code``, and ``message``."""
    code = headers.get("x-amzn-errortype") or ""
    message = ""
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = {}
        message = body[:200].decode("utf-8", "replace").strip()
    if isinstance(document, dict):
        if not code:
            code = str(document.get("__type") or document.get("code") or document.get("Code") or "")
        message = str(document.get("message") or document.get("Message") or message)
    # "NotFoundException:http://internal.amazon.com/..." and "aws.ses#NotFoundException".
    code = code.partition(":")[0].rpartition("#")[2]
    return code, message


# --------------------------------------------------------------------- server


class _Route:
    __slots__ = ("labels", "operation", "pattern")

    def __init__(self, operation: str, pattern: re.Pattern[str], labels: dict[str, str]) -> None:
        self.operation = operation
        self.pattern = pattern
        self.labels = labels


_ROUTES: dict[str, list[_Route]] = {}
# Paths without labels, looked up by exact match before any regex is tried.
_LITERAL_ROUTES: dict[tuple[str, str], _Route] = {}
_NO_MATCH: Any = None


def _routes(method: str) -> list[_Route]:
    if not _ROUTES:
        tables = _tables()
        by_method: dict[str, list[tuple[tuple[int, int], _Route]]] = {}
        for _, (name, verb, uri, input_shape, _, _) in tables.OPERATIONS.items():
            locations = tables.SHAPES[input_shape][3] if input_shape else {}
            label_members = {loc[1]: member for member, loc in locations.items() if loc[0] == "uri"}
            regex = ""
            position = 0
            for match in _LABEL.finditer(uri):
                regex += re.escape(uri[position : match.start()])
                label = match.group(1)
                greedy = label.endswith("+")
                label = label.rstrip("+")
                regex += f"(?P<{label}>{'.+' if greedy else '[^/]+'})"
                position = match.end()
            regex += re.escape(uri[position:])
            literal = len(_LABEL.sub("", uri))
            rank = (len(label_members), -literal)
            route = _Route(name, re.compile(regex + "$"), label_members)
            if not label_members:
                _LITERAL_ROUTES[(verb, uri)] = route
            by_method.setdefault(verb, []).append((rank, route))
        for verb, routes in by_method.items():
            _ROUTES[verb] = [route for _, route in sorted(routes, key=lambda pair: pair[0])]
    return _ROUTES.get(method, [])


def decode_restjson_request(
    method: str, path: str, query: str, body: bytes
) -> tuple[str, dict[str, Any]]:
    """``(OperationName, boto3-shaped params)`` from a request as it came off the wire.

    ``path`` and ``query`` are still percent-encoded.  Raises
    :class:`SESValidationError` with code ``NotFoundException`` when no
    operation matches and ``BadRequestException`` for malformed input.
    """
    tables = _tables()
    routes = _routes(method)
    literal = _LITERAL_ROUTES.get((method, path))
    if literal is not None:
        route, match = literal, _NO_MATCH
    else:
        for route in routes:
            match = route.pattern.match(path)
            if match is not None:
                break
        else:
            raise SESValidationError(
                f"No operation matches {method} {path}", code="NotFoundException", field="path"
            )
    input_shape = tables.OPERATIONS[_snake_name(route.operation)][3]
    if input_shape is None:
        return route.operation, {}
    shapes = tables.SHAPES
    if not route.labels and not query:
        # The common case (a send): everything is in the JSON body, decoded and
        # checked in one walk; anything unusual goes the exact way below.
        try:
            document = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise SESValidationError(str(exc), code="BadRequestException") from None
        if type(document) is dict:
            try:
                decode = _json_decoder(shapes, input_shape)
                assert decode is not None  # an input is a structure
                return route.operation, decode(document)
            except _Irregular:
                pass
    return route.operation, _decode_exactly(shapes, input_shape, route, match, query, body)


class _Irregular(Exception):
    """The one-walk decoding met something it leaves to :func:`_decode_exactly`."""


# Built per shape name on first use.  A decoder turns parsed JSON into the
# parameter value (as _decode does) and checks it (as validate does); a checker
# only checks, for subtrees without blobs or timestamps, which stay as parsed.
# None stands for a string without limits, checked in place.
_Check = Callable[[Any], None]
_Decode = Callable[[Any], Any]
_CHECKERS: dict[str, _Check | None] = {}
_DECODERS: dict[str, _Decode | None] = {}


def _irregular(value: Any) -> Any:
    raise _Irregular


def _json_checker(shapes: _Shapes, shape_name: str) -> _Check | None:
    """Raises :class:`_Irregular` where ``validate`` would find a problem in the value."""
    return compiled(_CHECKERS, shape_name, lambda name: _compile_checker(shapes, name))


def _compile_checker(shapes: _Shapes, shape_name: str) -> _Check | None:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "string":
        if shape[1] is None and shape[2] is None and shape[3] is None:
            return None

        def check_string(value: Any) -> None:
            _check_string(shape, value)

        return check_string
    if kind == "structure":
        plan = {name: _json_checker(shapes, member) for name, member in shape[1].items()}
        required = shape[2]

        def check_structure(value: Any) -> None:
            if type(value) is not dict:
                raise _Irregular
            for name in required:
                if value.get(name) is None:
                    raise _Irregular
            for name, item in value.items():
                if name not in plan:
                    raise _Irregular
                if item is not None:
                    check = plan[name]
                    if check is None:
                        if type(item) is not str:
                            raise _Irregular
                    else:
                        check(item)

        return check_structure
    if kind == "list":
        item_check = _json_checker(shapes, shape[1])
        low, high = shape[2], shape[3]

        def check_list(value: Any) -> None:
            if type(value) is not list:
                raise _Irregular
            _check_size(len(value), low, high)
            for item in value:
                if item_check is None:
                    if type(item) is not str:
                        raise _Irregular
                else:
                    item_check(item)

        return check_list
    if kind == "map":
        key_shape = shapes[shape[1]]
        value_check = _json_checker(shapes, shape[2])

        def check_map(value: Any) -> None:
            if type(value) is not dict:
                raise _Irregular
            _check_size(len(value), shape[3], shape[4])
            for key, item in value.items():
                _check_string(key_shape, key)
                if value_check is None:
                    if type(item) is not str:
                        raise _Irregular
                else:
                    value_check(item)

        return check_map
    if kind == "integer" or kind == "double":
        low, high = shape[1], shape[2]

        def check_number(value: Any) -> None:
            if not (type(value) is int or (kind == "double" and type(value) is float)):
                raise _Irregular
            if (low is not None and value < low) or (high is not None and value > high):
                raise _Irregular

        return check_number
    if kind == "boolean":

        def check_boolean(value: Any) -> None:
            if type(value) is not bool:
                raise _Irregular

        return check_boolean
    # Blobs and timestamps are always decoded, never only checked.
    return _irregular


def _json_decoder(shapes: _Shapes, shape_name: str) -> _Decode | None:
    """Decodes as :func:`_decode` does and checks as ``validate`` does."""
    return compiled(_DECODERS, shape_name, lambda name: _compile_decoder(shapes, name))


def _compile_decoder(shapes: _Shapes, shape_name: str) -> _Decode | None:
    shape = shapes[shape_name]
    kind = shape[0]
    # Containers without a blob or timestamp anywhere inside (not "deep") stay as parsed.
    shallow = (kind == "structure" or kind == "list") and not shape[4]
    if shallow or (kind == "map" and not shape[5]):
        check_shallow = _json_checker(shapes, shape_name)
        assert check_shallow is not None

        def checked(value: Any) -> Any:
            check_shallow(value)
            return value

        return checked
    if kind == "structure":
        plan = {name: _json_decoder(shapes, member) for name, member in shape[1].items()}
        required = shape[2]

        def decode_structure(value: Any) -> Any:
            if type(value) is not dict:
                raise _Irregular
            decoded = {}
            for name, item in value.items():
                # Unknown and null members are dropped, as _decode_structure does.
                if item is None or name not in plan:
                    continue
                decode = plan[name]
                if decode is None:
                    if type(item) is not str:
                        raise _Irregular
                    decoded[name] = item
                else:
                    decoded[name] = decode(item)
            for name in required:
                if name not in decoded:
                    raise _Irregular
            return decoded

        return decode_structure
    if kind == "list":
        item_decode = _json_decoder(shapes, shape[1]) or _plain_string
        low, high = shape[2], shape[3]

        def decode_list(value: Any) -> Any:
            if type(value) is not list:
                raise _Irregular
            _check_size(len(value), low, high)
            return [item_decode(item) for item in value]

        return decode_list
    if kind == "map":
        key_shape = shapes[shape[1]]
        value_decode = _json_decoder(shapes, shape[2]) or _plain_string

        def decode_map(value: Any) -> Any:
            if type(value) is not dict:
                raise _Irregular
            _check_size(len(value), shape[3], shape[4])
            result = {}
            for key, item in value.items():
                _check_string(key_shape, key)
                result[key] = value_decode(item)
            return result

        return decode_map
    if kind == "blob":

        def decode_blob(value: Any) -> Any:
            if type(value) is not str:
                raise _Irregular
            try:
                data = base64.b64decode(value)
            except Exception:
                raise _Irregular from None
            _check_size(len(data), shape[1], shape[2])
            return data

        return decode_blob
    if kind == "timestamp":

        def decode_timestamp(value: Any) -> Any:
            try:
                if type(value) is int or type(value) is float:
                    return from_epoch(value)
                if type(value) is str:
                    return to_datetime(value)
            except Exception:
                raise _Irregular from None
            raise _Irregular

        return decode_timestamp
    check = _json_checker(shapes, shape_name)
    if check is None:
        return None

    def checked_scalar(value: Any) -> Any:
        check(value)
        return value

    return checked_scalar


def _plain_string(value: Any) -> Any:
    if type(value) is not str:
        raise _Irregular
    return value


def _check_string(shape: tuple[Any, ...], text: Any) -> None:
    if shape[0] != "string" or type(text) is not str:
        raise _Irregular
    _check_size(len(text), shape[1], shape[2])
    if shape[3] is not None and text not in shape[3]:
        raise _Irregular


def _check_size(size: int, low: int | None, high: int | None) -> None:
    if (low is not None and size < low) or (high is not None and size > high):
        raise _Irregular


def _decode_exactly(
    shapes: _Shapes,
    input_shape: str,
    route: _Route,
    match: Any,
    query: str,
    body: bytes,
) -> dict[str, Any]:
    """The parameters by the book: body, labels and query, then full validation."""
    shape = shapes[input_shape]
    params: dict[str, Any] = {}
    try:
        if body.strip():
            document = json.loads(body)
            if not isinstance(document, dict):
                raise ValueError("the request body must be a JSON object")
            params = _decode_structure(shapes, input_shape, document) if shape[4] else document
        for label, member in route.labels.items():
            params[member] = _from_text(shapes, shape[1][member], unquote(match.group(label)))
        if query:
            by_key = {loc[1]: member for member, loc in shape[3].items() if loc[0] == "querystring"}
            for pair in query.split("&"):
                key, _, text = pair.partition("=")
                query_member = by_key.get(unquote(key))
                if query_member is None:
                    continue
                member_shape = shapes[shape[1][query_member]]
                value = unquote(text)
                if member_shape[0] == "list":
                    item = _from_text(shapes, member_shape[1], value)
                    params.setdefault(query_member, []).append(item)
                else:
                    params[query_member] = _from_text(shapes, shape[1][query_member], value)
    except (ValueError, TypeError) as exc:
        raise SESValidationError(str(exc), code="BadRequestException") from None
    from ._validation import validate

    try:
        validate(shapes, input_shape, params)
    except SESValidationError as exc:
        raise SESValidationError(exc.message, code="BadRequestException", field=exc.field) from None
    return params


def _from_text(shapes: _Shapes, shape_name: str, text: str) -> Any:
    kind = shapes[shape_name][0]
    if kind == "integer":
        return int(text)
    if kind == "double":
        return float(text)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not a boolean")
        return text == "true"
    if kind == "timestamp":
        return to_datetime(text)
    return text


_SNAKE: dict[str, str] = {}


def _snake_name(operation: str) -> str:
    if not _SNAKE:
        _SNAKE.update({op[0]: snake for snake, op in _tables().OPERATIONS.items()})
    return _SNAKE[operation]


def encode_restjson_response(operation: str, result: Mapping[str, Any]) -> tuple[int, bytes]:
    """``(status, body)`` for a successful ``operation``; ``ResponseMetadata`` is dropped."""
    tables = _tables()
    output_shape = tables.OPERATIONS[_snake_name(operation)][4]
    document = {k: v for k, v in result.items() if k != "ResponseMetadata" and v is not None}
    if output_shape is not None and tables.SHAPES[output_shape][4]:
        document = _encode_structure(tables.SHAPES, output_shape, document)
    return 200, _ENCODE(document).encode()


_STATUS_OF_UNMODELLED = {
    "SignatureDoesNotMatch": 403,
    "InvalidSignatureException": 403,
    "UnrecognizedClientException": 403,
    "IncompleteSignatureException": 403,
    "MissingAuthenticationTokenException": 403,
    "AccessDeniedException": 403,
    "ExpiredTokenException": 403,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "ThrottlingException": 429,
}


def encode_restjson_error(
    code: str, message: str, *, status: int | None = None
) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` for an error, with the status the model gives ``code``."""
    if status is None:
        modelled = _tables().ERRORS.get(code)
        status = modelled[0] if modelled else _STATUS_OF_UNMODELLED.get(code, 400)
    headers = {"x-amzn-ErrorType": code, "Content-Type": CONTENT_TYPE}
    return status, headers, json.dumps({"message": message}).encode()
