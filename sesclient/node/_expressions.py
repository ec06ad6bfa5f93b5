"""``{{...}}`` expressions: values taken from the workflow run's data.

Syntax, inside any text field::

    {{trigger.customer_name}}          a path from the run context
    {{ workflow.last_order_id }}       spaces inside the braces are fine
    {{trigger.items[0].sku}}           list index in brackets ...
    {{trigger.items.0.sku}}            ... or as a dotted segment
    {{trigger["first name"]}}          a key that is not an identifier
    {{{trigger.snippet}}}              raw: not HTML-escaped in an HTML body
    \\{{                                a literal "{{"

Rendering is a single pass over the *configured* text: a value that comes from
data is inserted as it is and never scanned for expressions again, so data
holding ``{{x}}`` stays literal.  A path that is not in the data is an error
naming the expression, or (``missing="empty"``) renders as empty text.

Values become text as follows: strings as they are, ``None`` as empty text,
booleans as ``true``/``false``, numbers with ``str()``, a list of scalars as
its items joined with ``", "`` (so a list of addresses fills a To field), and
any other list or object as compact JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Expression",
    "ExpressionSyntaxError",
    "MissingValueError",
    "Template",
    "parse_template",
    "render",
    "render_native",
    "resolve",
    "stringify",
]

_IDENT = r"[A-Za-z_$][A-Za-z0-9_$-]*"
_SEGMENT = re.compile(
    r"""
    \.(?P<name>[A-Za-z0-9_$-]+)           # .name or .0
    | \[\s*(?P<index>\d+)\s*\]            # [0]
    | \[\s*"(?P<dq>(?:[^"\\]|\\.)*)"\s*\] # ["key"]
    | \[\s*'(?P<sq>(?:[^'\\]|\\.)*)'\s*\] # ['key']
    """,
    re.VERBOSE,
)
_ROOT = re.compile(_IDENT)
_UNESCAPE = re.compile(r"\\(.)")

PathSegment = str | int


class ExpressionSyntaxError(ValueError):
    """An expression that cannot be parsed; ``expression`` is its source text."""

    def __init__(self, message: str, *, expression: str) -> None:
        super().__init__(message)
        self.expression = expression


class MissingValueError(LookupError):
    """An expression's path is not in the run's data."""

    def __init__(self, message: str, *, expression: str) -> None:
        super().__init__(message)
        self.expression = expression

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Expression:
    """One ``{{path}}`` in a text: its source, parsed path and rawness."""

    source: str
    path: tuple[PathSegment, ...]
    raw: bool = False

    @property
    def dotted(self) -> str:
        """The path written back in a canonical form, for messages."""
        return _format_path(self.path)


@dataclass(frozen=True)
class Template:
    """A parsed text: literal strings and :class:`Expression` parts, in order."""

    parts: tuple[str | Expression, ...]

    @property
    def expressions(self) -> tuple[Expression, ...]:
        return tuple(p for p in self.parts if isinstance(p, Expression))

    @property
    def is_literal(self) -> bool:
        """True when the text holds no expression at all."""
        return not self.expressions

    @property
    def single_expression(self) -> Expression | None:
        """The expression, when the whole text (bar spaces) is exactly one."""
        meaningful = [p for p in self.parts if not (isinstance(p, str) and not p.strip())]
        if len(meaningful) == 1 and isinstance(meaningful[0], Expression):
            return meaningful[0]
        return None


def parse_template(text: str) -> Template:
    """Split ``text`` into literals and expressions; raise on malformed ``{{``."""
    parts: list[str | Expression] = []
    literal: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            literal.append(text[pos:])
            break
        if start > 0 and text[start - 1] == "\\":
            literal.append(text[pos : start - 1])
            literal.append("{{")
            pos = start + 2
            continue
        literal.append(text[pos:start])
        raw = text.startswith("{{{", start)
        opener, closer = ("{{{", "}}}") if raw else ("{{", "}}")
        end = text.find(closer, start + len(opener))
        if end < 0:
            fragment = text[start : start + 40]
            raise ExpressionSyntaxError(
                f"{fragment!r} opens an expression with {opener!r} but never closes it "
                f"with {closer!r} (write \\{{{{ for a literal {{{{)",
                expression=fragment,
            )
        source = text[start : end + len(closer)]
        path = _parse_path(text[start + len(opener) : end], source)
        if "".join(literal):
            parts.append("".join(literal))
        literal = []
        parts.append(Expression(source=source, path=path, raw=raw))
        pos = end + len(closer)
    if "".join(literal):
        parts.append("".join(literal))
    return Template(tuple(parts))


def _parse_path(inner: str, source: str) -> tuple[PathSegment, ...]:
    body = inner.strip()
    if not body:
        raise ExpressionSyntaxError(
            f"{source} is empty: put a path like trigger.name inside", expression=source
        )
    root = _ROOT.match(body)
    if root is None:
        raise ExpressionSyntaxError(
            f"{source} must start with a name such as trigger or workflow", expression=source
        )
    path: list[PathSegment] = [root.group()]
    pos = root.end()
    while pos < len(body):
        match = _SEGMENT.match(body, pos)
        if match is None:
            raise ExpressionSyntaxError(
                f"{source} is not a valid path: unexpected {body[pos:]!r} "
                '(use .name, [0] or ["key"])',
                expression=source,
            )
        if match.group("name") is not None:
            path.append(match.group("name"))
        elif match.group("index") is not None:
            path.append(int(match.group("index")))
        else:
            quoted = match.group("dq") if match.group("dq") is not None else match.group("sq")
            path.append(_UNESCAPE.sub(r"\1", quoted))
        pos = match.end()
    return tuple(path)


def _format_path(path: Sequence[PathSegment]) -> str:
    out = str(path[0])
    for segment in path[1:]:
        if isinstance(segment, int):
            out += f"[{segment}]"
        elif re.fullmatch(r"[A-Za-z0-9_$-]+", segment):
            out += f".{segment}"
        else:
            out += "[" + _json_string(segment) + "]"
    return out


def _json_string(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def resolve(expression: Expression, context: Mapping[str, Any]) -> Any:
    """The data value an expression points at; :class:`MissingValueError` if absent."""
    current: Any = context
    for depth, segment in enumerate(expression.path):
        where = _format_path(expression.path[:depth]) if depth else "the run data"
        if isinstance(current, Mapping):
            key = str(segment)
            if key not in current:
                raise MissingValueError(
                    f"{expression.source}: {where} has no {key!r}", expression=expression.source
                )
            current = current[key]
        elif isinstance(current, Sequence) and not isinstance(current, (str, bytes)):
            index = segment if isinstance(segment, int) else _as_index(segment)
            if index is None:
                raise MissingValueError(
                    f"{expression.source}: {where} is a list; use an index such as "
                    f"{where}[0], not {segment!r}",
                    expression=expression.source,
                )
            if index >= len(current):
                raise MissingValueError(
                    f"{expression.source}: {where} has {len(current)} item(s), "
                    f"so there is no index {index}",
                    expression=expression.source,
                )
            current = current[index]
        else:
            kind = "empty (null)" if current is None else f"a {_kind(current)}"
            raise MissingValueError(
                f"{expression.source}: {where} is {kind}, so it has no {segment!r}",
                expression=expression.source,
            )
    return current


def _as_index(segment: str) -> int | None:
    return int(segment) if segment.isdigit() else None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text value"
    return type(value).__name__


def stringify(value: Any) -> str:
    """Turn a data value into the text inserted for an expression."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)) and all(
        v is None or isinstance(v, (str, int, float, bool)) for v in value
    ):
        return ", ".join(stringify(v) for v in value)
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _lookup(expression: Expression, context: Mapping[str, Any], missing: str) -> Any:
    try:
        return resolve(expression, context)
    except MissingValueError:
        if missing == "empty":
            return None
        raise


def render(
    template: Template,
    context: Mapping[str, Any],
    *,
    missing: str = "error",
    escape: Callable[[str], str] | None = None,
) -> str:
    """Fill a template's expressions from ``context`` in one pass.

    ``escape``, when given, is applied to every non-raw expression's text
    (an HTML body passes :func:`html.escape`).  ``missing`` is ``"error"``
    (raise :class:`MissingValueError`) or ``"empty"``.
    """
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        text = stringify(_lookup(part, context, missing))
        out.append(escape(text) if escape is not None and not part.raw else text)
    return "".join(out)


def render_native(template: Template, context: Mapping[str, Any], *, missing: str = "error") -> Any:
    """Like :func:`render`, but a text that is exactly one expression keeps its type.

    Used for template variables: ``{{trigger.items}}`` passes the list itself
    to the SES template, where ``{{#each}}`` can walk it.
    """
    single = template.single_expression
    if single is not None:
        value = _lookup(single, context, missing)
        return "" if value is None else value
    return render(template, context, missing=missing)
