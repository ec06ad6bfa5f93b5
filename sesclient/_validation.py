"""Parameter validation against the model, before any request is made.

Messages follow botocore's ``ParamValidationError`` wording and parameter
paths (``Destination.ToAddresses[0]``), so that logs and tests written for
boto3 read the same.  Unlike botocore, enums and maximum lengths are checked
too: SES would refuse those values anyway, after a round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ._errors import SESValidationError

_Shapes = Mapping[str, tuple[Any, ...]]


def validate(shapes: _Shapes, shape_name: str | None, params: Mapping[str, Any]) -> None:
    """Raise :class:`SESValidationError` listing every problem in ``params``."""
    if shape_name is None:
        if params:
            names = ", ".join(params)
            raise SESValidationError(
                f"Parameter validation failed:\nUnknown parameter in input: {names!r}, "
                "this operation takes no parameters",
                field=next(iter(params)),
            )
        return
    problems: list[tuple[str, str]] = []
    _check(shapes, shape_name, params, "", problems)
    if problems:
        raise SESValidationError(
            "Parameter validation failed:\n" + "\n".join(message for _, message in problems),
            field=problems[0][0],
        )


def _check(
    shapes: _Shapes, shape_name: str, value: Any, path: str, problems: list[tuple[str, str]]
) -> None:
    shape = shapes[shape_name]
    kind = shape[0]
    if kind == "string":
        # The common case first, and without ABC instance checks: this runs on every send.
        if type(value) is not str and not isinstance(value, str):
            problems.append((path, _type_message(path, value, "str")))
            return
        if (shape[1] is not None and len(value) < shape[1]) or (
            shape[2] is not None and len(value) > shape[2]
        ):
            _length(path, len(value), shape[1], shape[2], problems)
        enum = shape[3]
        if enum is not None and value not in enum:
            problems.append(
                (
                    path,
                    f"Invalid value for parameter {path}, value: {value}, "
                    f"valid values: {', '.join(enum)}",
                )
            )
    elif kind == "structure":
        if type(value) is not dict and not isinstance(value, Mapping):
            problems.append((path, _type_message(path, value, "dict")))
            return
        members = shape[1]
        where = path or "input"
        for name in shape[2]:
            if value.get(name) is None:
                problems.append(
                    (_join(path, name), f'Missing required parameter in {where}: "{name}"')
                )
        for name, item in value.items():
            member = members.get(name)
            if member is None:
                choices = ", ".join(members)
                problems.append(
                    (
                        _join(path, name),
                        f'Unknown parameter in {where}: "{name}", must be one of: {choices}',
                    )
                )
            elif item is not None:
                _check(shapes, member, item, _join(path, name), problems)
    elif kind == "list":
        if type(value) is not list and not isinstance(value, (list, tuple)):
            problems.append((path, _type_message(path, value, "list", "tuple")))
            return
        _length(path, len(value), shape[2], shape[3], problems)
        member = shape[1]
        for index, item in enumerate(value):
            _check(shapes, member, item, f"{path}[{index}]", problems)
    elif kind == "map":
        if not isinstance(value, Mapping):
            problems.append((path, _type_message(path, value, "dict")))
            return
        _length(path, len(value), shape[3], shape[4], problems)
        for key, item in value.items():
            _check(shapes, shape[1], key, f"{path} (key)", problems)
            _check(shapes, shape[2], item, f"{path}.{key}", problems)
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append((path, _type_message(path, value, "int")))
            return
        _range(path, value, shape[1], shape[2], problems)
    elif kind == "double":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append((path, _type_message(path, value, "float", "int")))
            return
        _range(path, value, shape[1], shape[2], problems)
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append((path, _type_message(path, value, "bool")))
    elif kind == "blob":
        if isinstance(value, str):
            value = value.encode()
        if not isinstance(value, (bytes, bytearray, memoryview)):
            problems.append((path, _type_message(path, value, "bytes", "bytearray", "str")))
            return
        _length(path, len(value), shape[1], shape[2], problems)
    elif kind == "timestamp":
        if isinstance(value, (datetime, int, float)) and not isinstance(value, bool):
            return
        if isinstance(value, str):
            from ._timestamps import parse_iso8601

            try:
                parse_iso8601(value)
            except ValueError:
                pass
            else:
                return
        problems.append(
            (path, f"Invalid type for parameter {path}, value: {value!r}, valid types: timestamp")
        )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_message(path: str, value: Any, *valid: str) -> str:
    shown = value if not isinstance(value, (bytes, bytearray)) else f"<{len(value)} bytes>"
    types = ", ".join(f"<class '{name}'>" for name in valid)
    return (
        f"Invalid type for parameter {path}, value: {shown}, "
        f"type: {type(value)}, valid types: {types}"
    )


def _length(
    path: str, size: int, low: int | None, high: int | None, problems: list[tuple[str, str]]
) -> None:
    if low is not None and size < low:
        problems.append(
            (path, f"Invalid length for parameter {path}, value: {size}, valid min length: {low}")
        )
    elif high is not None and size > high:
        problems.append(
            (path, f"Invalid length for parameter {path}, value: {size}, valid max length: {high}")
        )


def _range(
    path: str, number: float, low: float | None, high: float | None, problems: list[tuple[str, str]]
) -> None:
    if low is not None and number < low:
        problems.append(
            (path, f"Invalid range for parameter {path}, value: {number}, valid min value: {low}")
        )
    elif high is not None and number > high:
        problems.append(
            (path, f"Invalid range for parameter {path}, value: {number}, valid max value: {high}")
        )
