"""Generate sesclient's compact operation tables from the published SES models.

Usage::

    python tools/generate_models.py [--models DIR] [--check]

``DIR`` defaults to ``../shared/reference/aws-models`` beside the repository.
The output is ``sesclient/_models/ses_v1.py`` and ``sesclient/_models/ses_v2.py``:
plain dicts of tuples, no documentation text, loaded only when an API is first
used.  ``--check`` exits 1 when the committed files differ from what would be
generated.

Table layout (positions matter, the runtime reads them by index):

* ``OPERATIONS[snake_name] = (Name, method, uri, input, output, result_wrapper)``
* ``SHAPES[name]``, by kind:

  - ``("structure", members, required, locations, deep)`` where ``members``
    maps member name to shape name, ``locations`` maps the members that live
    outside the body to ``(location, location_name)``;
  - ``("list", member, min, max, deep)``;
  - ``("map", key, value, min, max, deep)``;
  - ``("string", min, max, enum)``, ``("integer", min, max)``,
    ``("double", min, max)``, ``("blob", min, max)``, ``("boolean",)``,
    ``("timestamp",)``.

  ``deep`` is true when a blob or timestamp sits somewhere inside, so that
  JSON can be passed through untouched when it is false.
* ``ERRORS[code] = (http_status, sender_fault)``
* ``PAGINATORS[snake_name] = (input_token, output_token, limit_key, result_key)``
* ``WAITERS[name] = (operation, delay, max_attempts, acceptors)``
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = ROOT.parent / "shared" / "reference" / "aws-models"
OUTPUTS = {
    "ses_v1": ("ses/2010-12-01", "SES v1 (Query, 2010-12-01)"),
    "ses_v2": ("sesv2/2019-09-27", "SESv2 (REST-JSON, 2019-09-27)"),
}

_FIRST_CAP = re.compile("(.)([A-Z][a-z]+)")
_END_CAP = re.compile("([a-z0-9])([A-Z])")
_SPECIAL_PLURAL = re.compile("[A-Z]{2,}s$")


def snake_case(name: str) -> str:
    """The method name boto3 gives an operation (botocore's ``xform_name``)."""
    special = _SPECIAL_PLURAL.search(name)
    if special:
        matched = special.group()
        name = name[: -len(matched)] + "_" + matched.lower()
    return _END_CAP.sub(r"\1_\2", _FIRST_CAP.sub(r"\1_\2", name)).lower()


_SCALARS = {"string", "integer", "long", "double", "float", "boolean", "timestamp", "blob"}


def _deep(shapes: dict[str, Any], name: str, seen: set[str]) -> bool:
    if name in seen:
        return False
    seen = seen | {name}
    shape = shapes[name]
    kind = shape["type"]
    if kind in ("blob", "timestamp"):
        return True
    if kind == "structure":
        return any(_deep(shapes, m["shape"], seen) for m in shape["members"].values())
    if kind == "list":
        return _deep(shapes, shape["member"]["shape"], seen)
    if kind == "map":
        return _deep(shapes, shape["value"]["shape"], seen)
    return False


def compact_shape(shapes: dict[str, Any], name: str) -> tuple[Any, ...]:
    shape = shapes[name]
    kind = shape["type"]
    lo, hi = shape.get("min"), shape.get("max")
    if kind == "structure":
        members = {m: spec["shape"] for m, spec in shape["members"].items()}
        required = tuple(shape.get("required", ()))
        locations = {
            m: (spec["location"], spec.get("locationName", m))
            for m, spec in shape["members"].items()
            if "location" in spec
        }
        return ("structure", members, required, locations, _deep(shapes, name, set()))
    if kind == "list":
        return ("list", shape["member"]["shape"], lo, hi, _deep(shapes, name, set()))
    if kind == "map":
        deep = _deep(shapes, name, set())
        return ("map", shape["key"]["shape"], shape["value"]["shape"], lo, hi, deep)
    if kind == "string":
        enum = tuple(shape["enum"]) if "enum" in shape else None
        return ("string", lo, hi, enum)
    if kind in ("integer", "long"):
        return ("integer", lo, hi)
    if kind in ("double", "float"):
        return ("double", lo, hi)
    if kind == "blob":
        return ("blob", lo, hi)
    if kind in ("boolean", "timestamp"):
        return (kind,)
    raise ValueError(f"shape {name}: unsupported type {kind!r}")


def build_tables(folder: Path) -> dict[str, Any]:
    service = json.loads((folder / "service-2.json").read_text())
    shapes = service["shapes"]
    operations = {}
    for op_name in sorted(service["operations"]):
        op = service["operations"][op_name]
        operations[snake_case(op_name)] = (
            op_name,
            op["http"]["method"],
            op["http"]["requestUri"],
            op.get("input", {}).get("shape"),
            op.get("output", {}).get("shape"),
            op.get("output", {}).get("resultWrapper"),
        )
    errors = {}
    for shape_name, shape in sorted(shapes.items()):
        if shape.get("exception"):
            error = shape.get("error", {})
            code = error.get("code", shape_name)
            errors[code] = (error.get("httpStatusCode", 400), bool(error.get("senderFault", True)))
    compact = {name: compact_shape(shapes, name) for name in sorted(shapes)}
    paginators = {}
    paginator_file = folder / "paginators-1.json"
    if paginator_file.exists():
        for op_name, spec in sorted(json.loads(paginator_file.read_text())["pagination"].items()):
            paginators[snake_case(op_name)] = (
                spec["input_token"],
                spec["output_token"],
                spec.get("limit_key"),
                spec["result_key"],
            )
    waiters = {}
    waiter_file = folder / "waiters-2.json"
    if waiter_file.exists():
        for name, spec in sorted(json.loads(waiter_file.read_text())["waiters"].items()):
            acceptors = tuple(
                (a["state"], a["matcher"], a.get("argument"), a["expected"])
                for a in spec["acceptors"]
            )
            waiters[snake_case(name)] = (
                snake_case(spec["operation"]),
                spec["delay"],
                spec["maxAttempts"],
                acceptors,
            )
    return {
        "API_VERSION": service["metadata"]["apiVersion"],
        "PROTOCOL": service["metadata"]["protocol"],
        "XML_NAMESPACE": service["metadata"].get("xmlNamespace"),
        "OPERATIONS": operations,
        "SHAPES": compact,
        "ERRORS": errors,
        "PAGINATORS": paginators,
        "WAITERS": waiters,
    }


def render(tables: dict[str, Any], title: str) -> str:
    lines = [
        f'"""Operation tables for {title}.',
        "",
        "Generated by tools/generate_models.py from the published AWS model. Do not edit.",
        '"""',
        "",
        "# fmt: off",
    ]
    for key, value in tables.items():
        if isinstance(value, dict):
            # Annotated so that type checkers accept an empty table (SESv2 has no waiters).
            lines.append(f"{key}: dict[str, tuple] = {{")
            for item_key, item in value.items():
                lines.append(f"    {item_key!r}: {item!r},")
            lines.append("}")
        else:
            lines.append(f"{key} = {value!r}")
    lines.append("")
    return "\n".join(lines)


_SCALAR_TYPES = {
    "string": "str",
    "integer": "int",
    "double": "float",
    "boolean": "bool",
    "timestamp": "datetime",
    "blob": "bytes",
}


def _annotation(shapes: dict[str, tuple[Any, ...]], name: str, *, output: bool) -> str:
    shape = shapes[name]
    kind = shape[0]
    if kind == "structure":
        return f"{name}{'Output' if output else ''}"
    if kind == "list":
        inner = _annotation(shapes, shape[1], output=output)
        return f"list[{inner}]" if output else f"Sequence[{inner}]"
    if kind == "map":
        key = _annotation(shapes, shape[1], output=output)
        value = _annotation(shapes, shape[2], output=output)
        return f"dict[{key}, {value}]" if output else f"Mapping[{key}, {value}]"
    if kind == "string" and shape[3]:
        return "Literal[" + ", ".join(repr(v) for v in shape[3]) + "]"
    if kind == "timestamp" and not output:
        return "datetime | str | int | float"
    if kind == "blob" and not output:
        return "bytes | bytearray | str"
    return _SCALAR_TYPES[kind]


def _reachable(shapes: dict[str, tuple[Any, ...]], roots: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    stack = [r for r in roots if r]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen[name] = None
        shape = shapes[name]
        if shape[0] == "structure":
            stack.extend(shape[1].values())
        elif shape[0] == "list":
            stack.append(shape[1])
        elif shape[0] == "map":
            stack.extend((shape[1], shape[2]))
    return sorted(n for n in seen if shapes[n][0] == "structure")


def render_stub(tables: dict[str, Any], api: str, title: str) -> str:
    """A .pyi with TypedDicts for every input and output, and the operations' signatures."""
    shapes = tables["SHAPES"]
    operations = tables["OPERATIONS"]
    inputs = _reachable(shapes, [op[3] for op in operations.values()])
    outputs = _reachable(shapes, [op[4] for op in operations.values()])
    lines = [
        f'"""Types for {title}: every input and output shape, and every operation.',
        "",
        "Generated by tools/generate_models.py. Type checkers read this file; nothing imports it",
        "at run time.",
        '"""',
        "",
        "from collections.abc import AsyncIterator, Iterator, Mapping, Sequence",
        "from datetime import datetime",
        "from typing import Any, Literal, Protocol",
        "",
        "from typing_extensions import NotRequired, Required, TypedDict, Unpack",
        "",
    ]
    for output, names in ((False, inputs), (True, outputs)):
        for name in names:
            members, required = shapes[name][1], set(shapes[name][2])
            lines.append(f"class {name}{'Output' if output else ''}(TypedDict, total=False):")
            if not members:
                lines.append("    pass")
            for member, target in members.items():
                annotation = _annotation(shapes, target, output=output)
                wrapper = "Required" if member in required else "NotRequired"
                lines.append(f"    {member}: {wrapper}[{annotation}]")
            lines.append("")
    lines += [
        "class ResponseMetadata(TypedDict):",
        "    RequestId: str",
        "    HTTPStatusCode: int",
        "    HTTPHeaders: dict[str, str]",
        "    RetryAttempts: int",
        "",
    ]
    for op in operations.values():
        base = f"{op[4]}Output" if op[4] else "TypedDict"
        lines.append(f"class {op[0]}Result({base}, total=False):")
        lines.append("    ResponseMetadata: ResponseMetadata")
        lines.append("")
    for is_async in (False, True):
        prefix = "Async" if is_async else ""
        lines.append(f"class {prefix}{api.upper()}Operations(Protocol):")
        for snake, op in operations.items():
            params = f"**kwargs: Unpack[{op[3]}]" if op[3] else ""
            sep = ", " if params else ""
            keyword = "async def" if is_async else "def"
            lines.append(f"    {keyword} {snake}(self{sep}{params}) -> {op[0]}Result: ...")
        lines.append("    def can_paginate(self, name: str) -> bool: ...")
        iterator = "AsyncIterator" if is_async else "Iterator"
        lines.append(f"    def get_paginator(self, name: str) -> {prefix}Paginator: ...")
        lines.append(f"    def get_waiter(self, name: str) -> {prefix}Waiter: ...")
        lines.append("")
        lines.append(f"class {prefix}Paginator(Protocol):")
        lines.append(f"    def paginate(self, **kwargs: Any) -> {iterator}[dict[str, Any]]: ...")
        lines.append("")
        lines.append(f"class {prefix}Waiter(Protocol):")
        keyword = "async def" if is_async else "def"
        lines.append(f"    {keyword} wait(self, **kwargs: Any) -> None: ...")
        lines.append("")
    return "\n".join(lines)


def generate(models: Path) -> dict[Path, str]:
    out = {}
    for module, (sub, title) in OUTPUTS.items():
        folder = ROOT / "sesclient" / "_models"
        tables = build_tables(models / sub)
        out[folder / f"{module}.py"] = render(tables, title)
        out[folder / f"{module}_types.pyi"] = render_stub(tables, module[-2:], title)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--check", action="store_true", help="only report differences")
    args = parser.parse_args(argv)
    if not (args.models / "ses").is_dir():
        print(f"models not found under {args.models}", file=sys.stderr)
        return 2
    stale = []
    for path, text in generate(args.models).items():
        current = path.read_text() if path.exists() else None
        if current != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    for path in stale:
        verb = "stale" if args.check else "wrote"
        print(f"{verb}: {path.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
