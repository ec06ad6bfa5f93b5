"""The Handlebars subset SES renders templates with, for the local endpoint.

SES fills ``SendTemplatedEmail`` / ``SendBulkTemplatedEmail`` / v2 template
sends and ``TestRenderTemplate`` with Handlebars.  This module implements what
those templates use:

* ``{{name}}`` (HTML-escaped), ``{{{name}}}`` and ``{{& name}}`` (raw);
  paths ``a.b.c``, ``this``, ``./a``, ``../a``, ``a.[0]``, ``items.length``,
  and the data variables ``@index``, ``@key``, ``@first``, ``@last``, ``@root``;
* ``{{#if}}`` / ``{{#unless}}`` with ``{{else}}`` and ``{{else if ...}}``
  chains, ``{{#each}}`` over lists and objects (with ``{{else}}`` for empty
  and ``as |item index|`` block parameters), ``{{#with}}``, Mustache-style
  sections ``{{#list}}...{{/list}}`` and ``{{^list}}...{{/list}}``;
* ``{{lookup obj key}}``, inline partials ``{{#*inline "name"}}`` with
  ``{{> name}}``, comments ``{{! ...}}`` and ``{{!-- ... --}}``, whitespace
  control ``{{~ ... ~}}``, ``\\{{`` for a literal ``{{``, and Handlebars'
  "standalone line" rule that drops the line a lone block tag sits on.

A template is compiled once into a tuple tree and cached by its source text.
A variable that is output but absent from the data raises
:class:`MissingVariable` (what SES reports as a rendering failure) unless
``missing="empty"``; a malformed template raises :class:`TemplateSyntaxError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

__all__ = [
    "MissingVariable",
    "Template",
    "TemplateError",
    "TemplateSyntaxError",
    "compile_template",
    "render",
]


class TemplateError(ValueError):
    """Base class of template compilation and rendering errors."""


class TemplateSyntaxError(TemplateError):
    """The template is malformed (unclosed block, bad expression, unknown helper)."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class MissingVariable(TemplateError):
    """A variable the template outputs is not in the data.

    ``name`` is the variable's path as written in the template (``user.name``).
    """

    def __init__(self, name: str, *, line: int | None = None) -> None:
        self.name = name
        self.line = line
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"the template references {name!r}{where}, which the data lacks")


# --- compiled representation -------------------------------------------------
# Nodes are tuples whose first item is one of these kinds.
_TEXT = 0  # (_TEXT, text)
_VAR = 1  # (_VAR, path, escape, line)
_BLOCK = 2  # (_BLOCK, helper, args, body, inverse, block_params, line)
_PARTIAL = 3  # (_PARTIAL, name, arg, line)
_LOOKUP = 4  # (_LOOKUP, args, escape, line)

# A path: (depth, is_data, parts, original).  An argument: ("path", path) or
# ("literal", value).  A program: (nodes, inline partials or None).

_MISSING = object()
_BLOCK_HELPERS = frozenset({"if", "unless", "each", "with"})
_ID = r"[^\s!\"#%&'()*+,./;<=>@\[\\\]^`{|}~]+"
_SEGMENT_RE = re.compile(rf"\[([^\]]*)\]|({_ID})")
_ARG_RE = re.compile(
    r"""\s*(?:
        (?P<dq>"(?:[^"\\]|\\.)*")
      | (?P<sq>'(?:[^'\\]|\\.)*')
      | (?P<params>\|[^|]*\|)
      | (?P<word>[^\s|]+)
    )""",
    re.VERBOSE | re.DOTALL,
)
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_MUSTACHE_END_RE = re.compile(r"(.*?)(~?)\}\}", re.DOTALL)
_TRIPLE_END_RE = re.compile(r"(.*?)\}(~?)\}\}", re.DOTALL)
_STANDALONE_BEFORE = re.compile(r"(?:\A|\n)[ \t]*\Z")
_STANDALONE_AFTER = re.compile(r"\A[ \t]*(?:\r?\n|\Z)")
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        "`": "&#x60;",
        "=": "&#x3D;",
    }
)


class _Tag:
    """One ``{{...}}`` between two text runs, before the tree is built.

    ``kind`` is one of "var", "raw", "open", "inverse", "close", "else",
    "partial", "inline" or "comment"; ``content`` is the text after the sigil.
    """

    __slots__ = ("content", "kind", "line", "standalone_ok", "strip_left", "strip_right")

    def __init__(self, kind: str, content: str, line: int, left: bool, right: bool) -> None:
        self.kind = kind
        self.content = content
        self.line = line
        self.strip_left = left
        self.strip_right = right
        self.standalone_ok = kind not in ("var", "raw")


def _tokenize(source: str) -> tuple[list[str], list[_Tag]]:
    """Split the source into text runs and tags: ``texts[i]`` precedes ``tags[i]``."""
    texts: list[str] = []
    tags: list[_Tag] = []
    pending: list[str] = []
    pos = 0
    length = len(source)
    while True:
        start = source.find("{{", pos)
        if start < 0:
            pending.append(source[pos:])
            break
        if start > 0 and source[start - 1] == "\\":
            if start > 1 and source[start - 2] == "\\":
                # "\\{{" is a literal backslash followed by a real mustache.
                pending.append(source[pos : start - 1])
            else:
                pending.append(source[pos : start - 1])
                end = source.find("}}", start + 2)
                stop = length if end < 0 else end + 2
                pending.append(source[start:stop])
                pos = stop
                continue
        else:
            pending.append(source[pos:start])
        line = source.count("\n", 0, start) + 1
        cursor = start + 2
        left = source.startswith("~", cursor)
        if left:
            cursor += 1
        if source.startswith("!--", cursor):
            end = source.find("--", cursor + 3)
            while end >= 0 and not (
                source.startswith("}}", end + 2) or source.startswith("~}}", end + 2)
            ):
                end = source.find("--", end + 1)
            if end < 0:
                raise TemplateSyntaxError("unterminated comment {{!-- ... --}}", line=line)
            right = source.startswith("~", end + 2)
            tag = _Tag("comment", "", line, left, right)
            pos = end + (5 if right else 4)
        elif source.startswith("{", cursor):
            match = _TRIPLE_END_RE.match(source, cursor + 1)
            if match is None:
                raise TemplateSyntaxError("unterminated {{{ ... }}}", line=line)
            tag = _Tag("raw", match.group(1).strip(), line, left, bool(match.group(2)))
            pos = match.end()
        else:
            match = _MUSTACHE_END_RE.match(source, cursor)
            if match is None:
                raise TemplateSyntaxError("unterminated {{ ... }}", line=line)
            tag = _classify(match.group(1), line, left, bool(match.group(2)))
            pos = match.end()
        texts.append("".join(pending))
        pending = []
        tags.append(tag)
    texts.append("".join(pending))
    return texts, tags


def _classify(raw: str, line: int, left: bool, right: bool) -> _Tag:
    content = raw.strip()
    if content.startswith("!"):
        return _Tag("comment", "", line, left, right)
    if content.startswith("#>"):
        raise TemplateSyntaxError("partial blocks {{#> ...}} are not supported", line=line)
    if content.startswith("#*"):
        return _Tag("inline", content[2:].strip(), line, left, right)
    if content.startswith("#"):
        return _Tag("open", content[1:].strip(), line, left, right)
    if content.startswith("^"):
        rest = content[1:].strip()
        return _Tag("inverse" if rest else "else", rest, line, left, right)
    if content.startswith("/"):
        return _Tag("close", content[1:].strip(), line, left, right)
    if content == "else" or content.startswith(("else ", "else\t", "else\n")):
        return _Tag("else", content[4:].strip(), line, left, right)
    if content.startswith(">"):
        return _Tag("partial", content[1:].strip(), line, left, right)
    if content.startswith("&"):
        return _Tag("raw", content[1:].strip(), line, left, right)
    if content.startswith("{"):
        raise TemplateSyntaxError("unbalanced braces in {{{ ... }}}", line=line)
    return _Tag("var", content, line, left, right)


def _apply_whitespace_rules(texts: list[str], tags: list[_Tag]) -> None:
    """Apply ``~`` stripping and Handlebars' standalone-line rule in place."""
    last = len(tags) - 1
    # Standalone status is decided on the untouched text, then applied.
    standalone = [
        tag.standalone_ok
        and _STANDALONE_BEFORE.search(texts[index]) is not None
        and (index == 0 or "\n" in texts[index])
        and _STANDALONE_AFTER.match(texts[index + 1]) is not None
        and (index == last or "\n" in texts[index + 1])
        for index, tag in enumerate(tags)
    ]
    for index, tag in enumerate(tags):
        if standalone[index]:
            before = texts[index]
            texts[index] = before[: before.rfind("\n") + 1]
            texts[index + 1] = _STANDALONE_AFTER.sub("", texts[index + 1], count=1)
        if tag.strip_left:
            texts[index] = texts[index].rstrip()
        if tag.strip_right:
            texts[index + 1] = texts[index + 1].lstrip()


class _Parser:
    def __init__(self, texts: list[str], tags: list[_Tag]) -> None:
        self.texts = texts
        self.tags = tags
        self.index = 0  # next tag to consume

    def program(
        self, closers: tuple[str, ...]
    ) -> tuple[tuple[tuple, dict[str, Any] | None], _Tag | None]:
        """Parse nodes up to a tag whose kind is in ``closers``; return the program and that tag.

        The closing tag is consumed; ``None`` in its place means the source ended.
        """
        nodes: list[tuple] = []
        partials: dict[str, Any] = {}
        while True:
            text = self.texts[self.index]
            if text:
                nodes.append((_TEXT, text))
            if self.index >= len(self.tags):
                return (tuple(nodes), partials or None), None
            tag = self.tags[self.index]
            self.index += 1
            kind = tag.kind
            if kind in closers:
                return (tuple(nodes), partials or None), tag
            if kind == "comment":
                continue
            if kind == "var" or kind == "raw":
                nodes.append(self.expression(tag, escape=kind == "var"))
            elif kind == "open" or kind == "inverse":
                nodes.append(self.block(tag))
            elif kind == "inline":
                name, body = self.inline(tag)
                partials[name] = body
            elif kind == "partial":
                words = _split_args(tag.content, tag.line)
                if not words or len(words) > 2:
                    raise TemplateSyntaxError("expected {{> name [context]}}", line=tag.line)
                name = _literal_or_word(words[0])
                arg = _argument(words[1], tag.line) if len(words) == 2 else None
                nodes.append((_PARTIAL, name, arg, tag.line))
            elif kind == "close":
                raise TemplateSyntaxError(
                    f"{{{{/{tag.content}}}}} closes no open block", line=tag.line
                )
            elif kind == "else":
                raise TemplateSyntaxError("{{else}} outside a block", line=tag.line)

    def expression(self, tag: _Tag, *, escape: bool) -> tuple:
        words = _split_args(tag.content, tag.line)
        if not words:
            raise TemplateSyntaxError("empty expression {{}}", line=tag.line)
        if len(words) == 1:
            if words[0].startswith(('"', "'")) or _NUMBER_RE.fullmatch(words[0]):
                raise TemplateSyntaxError(f"unsupported expression {tag.content!r}", line=tag.line)
            return (_VAR, _path(words[0], tag.line), escape, tag.line)
        if words[0] == "lookup":
            if len(words) != 3:
                raise TemplateSyntaxError("expected {{lookup object key}}", line=tag.line)
            args = (_argument(words[1], tag.line), _argument(words[2], tag.line))
            return (_LOOKUP, args, escape, tag.line)
        raise TemplateSyntaxError(
            f"unknown helper {words[0]!r} in {{{{{tag.content}}}}}", line=tag.line
        )

    def block(self, tag: _Tag) -> tuple:
        words = _split_args(tag.content, tag.line)
        if not words:
            raise TemplateSyntaxError("a block needs a name: {{#name}}", line=tag.line)
        name = words[0]
        if tag.kind == "inverse":
            helper = "^"
        elif name in _BLOCK_HELPERS:
            helper = name
        elif name == "lookup":
            raise TemplateSyntaxError(f"unsupported block {{{{#{name}}}}}", line=tag.line)
        elif len(words) > 1:
            raise TemplateSyntaxError(f"unknown block helper {name!r}", line=tag.line)
        else:
            helper = "section"
        return self._block_body(helper, words, tag, close_name=name)

    def _block_body(self, helper: str, words: list[str], tag: _Tag, *, close_name: str) -> tuple:
        args, block_params, include_zero = self._block_args(helper, words, tag)
        if include_zero:
            helper = helper + "0"
        body, end = self.program(("else", "close"))
        inverse = None
        if end is not None and end.kind == "else":
            if helper in ("^", "section") and end.content:
                raise TemplateSyntaxError("{{else ...}} chains need a helper block", line=end.line)
            if end.content:
                # "{{else if x}}" is a nested block that shares our closing tag.
                chained_words = _split_args(end.content, end.line)
                chained_helper = chained_words[0]
                if chained_helper not in _BLOCK_HELPERS:
                    raise TemplateSyntaxError(
                        f"unknown helper {chained_helper!r} in {{{{else ...}}}}", line=end.line
                    )
                nested = self._block_body(chained_helper, chained_words, end, close_name=close_name)
                return (_BLOCK, helper, args, body, ((nested,), None), block_params, tag.line)
            inverse, end = self.program(("close", "else"))
            if end is not None and end.kind == "else":
                raise TemplateSyntaxError("a block has two {{else}} sections", line=end.line)
        if end is None:
            raise TemplateSyntaxError(f"{{{{#{close_name}}}}} is never closed", line=tag.line)
        if end.content != close_name:
            raise TemplateSyntaxError(
                f"{{{{/{end.content}}}}} does not match the open block {{{{#{close_name}}}}}",
                line=end.line,
            )
        return (_BLOCK, helper, args, body, inverse, block_params, tag.line)

    def _block_args(
        self, helper: str, words: list[str], tag: _Tag
    ) -> tuple[tuple, tuple[str, ...] | None, bool]:
        rest = words[1:]
        block_params: tuple[str, ...] | None = None
        include_zero = False
        if len(rest) >= 2 and rest[-2] == "as" and rest[-1].startswith("|"):
            names = rest[-1][1:-1].split()
            if not names or not all(re.fullmatch(_ID, n) for n in names):
                raise TemplateSyntaxError("bad block parameters: as |name ...|", line=tag.line)
            block_params = tuple(names)
            rest = rest[:-2]
        if rest and rest[-1].startswith("includeZero="):
            include_zero = rest[-1].split("=", 1)[1] == "true"
            rest = rest[:-1]
        if helper in ("section", "^"):
            return (_argument(words[0], tag.line),), block_params, include_zero
        if len(rest) != 1:
            raise TemplateSyntaxError(
                f"{{{{#{helper}}}}} takes exactly one argument", line=tag.line
            )
        if block_params is not None and helper not in ("each", "with"):
            raise TemplateSyntaxError(
                f"{{{{#{helper}}}}} does not take block parameters", line=tag.line
            )
        return (_argument(rest[0], tag.line),), block_params, include_zero

    def inline(self, tag: _Tag) -> tuple[str, Any]:
        words = _split_args(tag.content, tag.line)
        if len(words) != 2 or words[0] != "inline":
            raise TemplateSyntaxError('expected {{#*inline "name"}}', line=tag.line)
        name = _literal_or_word(words[1])
        body, end = self.program(("close", "else"))
        if end is None or end.kind != "close" or end.content != "inline":
            raise TemplateSyntaxError(f"inline partial {name!r} is never closed", line=tag.line)
        return name, body


def _split_args(content: str, line: int) -> list[str]:
    words: list[str] = []
    pos = 0
    content = content.strip()
    while pos < len(content):
        match = _ARG_RE.match(content, pos)
        if match is None or match.end() == pos:
            raise TemplateSyntaxError(f"cannot parse {content!r}", line=line)
        word = match.group(match.lastgroup or "word")
        if match.lastgroup == "word" and word.startswith("("):
            raise TemplateSyntaxError(
                f"sub-expressions (helper ...) are not supported: {content!r}", line=line
            )
        words.append(word)
        pos = match.end()
    return words


def _literal_or_word(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return word[1:-1]
    return word


def _argument(word: str, line: int) -> tuple[str, Any]:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return ("literal", re.sub(r"\\(.)", r"\1", word[1:-1]))
    if _NUMBER_RE.fullmatch(word):
        return ("literal", float(word) if "." in word else int(word))
    if word in ("true", "false"):
        return ("literal", word == "true")
    if word in ("null", "undefined"):
        return ("literal", None)
    return ("path", _path(word, line))


def _path(text: str, line: int) -> tuple[int, bool, tuple[str, ...], str]:
    original = text
    is_data = text.startswith("@")
    if is_data:
        text = text[1:]
    depth = 0
    while text.startswith("../"):
        depth += 1
        text = text[3:]
    if text == "..":
        return (depth + 1, is_data, (), original)
    if text in ("this", "."):
        return (depth, is_data, (), original)
    if text.startswith(("this.", "this/")):
        text = text[5:]
    elif text.startswith("./"):
        text = text[2:]
    parts: list[str] = []
    pos = 0
    while True:
        match = _SEGMENT_RE.match(text, pos)
        if match is None:
            raise TemplateSyntaxError(f"invalid path {original!r}", line=line)
        parts.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
        if pos == len(text):
            break
        if text[pos] not in "./":
            raise TemplateSyntaxError(f"invalid path {original!r}", line=line)
        pos += 1
    if is_data and not parts:
        raise TemplateSyntaxError(f"invalid data variable {original!r}", line=line)
    return (depth, is_data, tuple(parts), original)


# --- rendering ---------------------------------------------------------------


class _Frame:
    """One context level: the value ``this`` refers to, plus @data and block params."""

    __slots__ = ("context", "data", "params", "parent", "root")

    def __init__(
        self,
        context: Any,
        parent: _Frame | None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.context = context
        self.parent = parent
        self.data = data
        self.params = params
        self.root: Any = parent.root if parent is not None else context


def _get(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(key, _MISSING)
    if isinstance(value, (list, tuple)):
        if key == "length":
            return len(value)
        if key.isdigit():
            index = int(key)
            return value[index] if index < len(value) else _MISSING
        return _MISSING
    if isinstance(value, str) and key == "length":
        return len(value)
    return _MISSING


def _resolve(path: tuple[int, bool, tuple[str, ...], str], frame: _Frame) -> Any:
    depth, is_data, parts, _ = path
    if is_data:
        name = parts[0]
        if name == "root":
            value = frame.root
        else:
            value = _MISSING
            scan: _Frame | None = frame
            while scan is not None:
                if scan.data is not None and name in scan.data:
                    value = scan.data[name]
                    break
                scan = scan.parent
            if value is _MISSING:
                return _MISSING
        rest = parts[1:]
    else:
        if parts and depth == 0:
            scan = frame
            while scan is not None:
                if scan.params is not None and parts[0] in scan.params:
                    value = scan.params[parts[0]]
                    for part in parts[1:]:
                        value = _get(value, part)
                        if value is _MISSING:
                            return _MISSING
                    return value
                scan = scan.parent
        target = frame
        for _ in range(depth):
            if target.parent is None:
                return _MISSING
            target = target.parent
        value = target.context
        rest = parts
    for part in rest:
        value = _get(value, part)
        if value is _MISSING:
            return _MISSING
    return value


def _evaluate(arg: tuple[str, Any], frame: _Frame) -> Any:
    if arg[0] == "literal":
        return arg[1]
    return _resolve(arg[1], frame)


def _stringify(value: Any) -> str:
    if value is None or value is _MISSING:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ",".join(_stringify(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def _falsy(value: Any, include_zero: bool = False) -> bool:
    """Handlebars' ``if``: false, null/undefined, "", 0 (unless includeZero), NaN, []."""
    if value is _MISSING or value is None or value is False:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (value == 0 and not include_zero) or value != value
    if isinstance(value, (str, list, tuple)):
        return len(value) == 0
    return False


class _Renderer:
    __slots__ = ("escape", "strict")

    def __init__(self, escape: bool, strict: bool) -> None:
        self.escape = escape
        self.strict = strict

    def program(
        self,
        program: tuple[tuple, dict[str, Any] | None],
        frame: _Frame,
        out: list[str],
        partials: dict[str, Any],
    ) -> None:
        nodes, local = program
        if local:
            partials = {**partials, **local}
        for node in nodes:
            kind = node[0]
            if kind == _TEXT:
                out.append(node[1])
            elif kind == _VAR:
                value = _resolve(node[1], frame)
                if value is _MISSING and self.strict:
                    raise MissingVariable(node[1][3], line=node[3])
                self.emit(value, node[2], out)
            elif kind == _BLOCK:
                self.block(node, frame, out, partials)
            elif kind == _LOOKUP:
                base = _evaluate(node[1][0], frame)
                key = _evaluate(node[1][1], frame)
                value = _MISSING if base is _MISSING else _get(base, _stringify(key))
                self.emit(value, node[2], out)
            else:  # _PARTIAL
                body = partials.get(node[1])
                if body is None:
                    raise TemplateSyntaxError(f"partial {node[1]!r} is not defined", line=node[3])
                target = frame if node[2] is None else _Frame(_evaluate(node[2], frame), frame)
                self.program(body, target, out, partials)

    def emit(self, value: Any, escape: bool, out: list[str]) -> None:
        text = _stringify(value)
        if escape and self.escape:
            text = text.translate(_ESCAPES)
        out.append(text)

    def block(self, node: tuple, frame: _Frame, out: list[str], partials: dict[str, Any]) -> None:
        _, helper, args, body, inverse, block_params, _line = node
        value = _evaluate(args[0], frame)
        include_zero = helper.endswith("0")
        if include_zero:
            helper = helper[:-1]
        if helper == "if" or helper == "unless":
            chosen = (helper == "if") != _falsy(value, include_zero)
            if chosen:
                self.program(body, frame, out, partials)
            elif inverse is not None:
                self.program(inverse, frame, out, partials)
        elif helper == "each":
            self.each(value, body, inverse, block_params, frame, out, partials)
        elif helper == "with":
            empty = value is _MISSING or value is None or value is False or value == []
            if not empty and not (isinstance(value, str) and not value):
                params = {block_params[0]: value} if block_params else None
                self.program(body, _Frame(value, frame, None, params), out, partials)
            elif inverse is not None:
                self.program(inverse, frame, out, partials)
        elif helper == "^":
            if _falsy(value, True):
                self.program(body, frame, out, partials)
            elif inverse is not None:
                self.program(inverse, frame, out, partials)
        else:  # Mustache-style section
            if value is True:
                self.program(body, frame, out, partials)
            elif isinstance(value, (list, tuple)):
                if value:
                    self.each(value, body, None, None, frame, out, partials)
                elif inverse is not None:
                    self.program(inverse, frame, out, partials)
            elif _falsy(value, True):
                if inverse is not None:
                    self.program(inverse, frame, out, partials)
            else:
                self.program(body, _Frame(value, frame), out, partials)

    def each(
        self,
        value: Any,
        body: Any,
        inverse: Any,
        block_params: tuple[str, ...] | None,
        frame: _Frame,
        out: list[str],
        partials: dict[str, Any],
    ) -> None:
        if isinstance(value, Mapping):
            entries = list(value.items())
            keyed = True
        elif isinstance(value, (list, tuple)):
            entries = list(enumerate(value))
            keyed = False
        else:
            entries = []
            keyed = False
        if not entries:
            if inverse is not None:
                self.program(inverse, frame, out, partials)
            return
        last = len(entries) - 1
        for index, (key, item) in enumerate(entries):
            data: dict[str, Any] = {"index": index, "first": index == 0, "last": index == last}
            if keyed:
                data["key"] = key
            params = None
            if block_params:
                params = {block_params[0]: item}
                if len(block_params) > 1:
                    params[block_params[1]] = key
            self.program(body, _Frame(item, frame, data, params), out, partials)


class Template:
    """A compiled template; render it as often as needed."""

    __slots__ = ("_program", "source")

    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self._program = program

    def render(
        self,
        data: Any,
        *,
        escape_html: bool = True,
        missing: Literal["error", "empty"] = "error",
    ) -> str:
        """Fill the template with ``data`` (see :func:`render`)."""
        if missing not in ("error", "empty"):
            raise ValueError(f"missing must be 'error' or 'empty', got {missing!r}")
        out: list[str] = []
        renderer = _Renderer(escape_html, missing == "error")
        renderer.program(self._program, _Frame(data, None), out, {})
        return "".join(out)


@lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    """Compile ``source`` (cached by its text); raises :class:`TemplateSyntaxError`."""
    if not isinstance(source, str):
        raise TypeError(f"template source must be a str, got {type(source).__name__}")
    texts, tags = _tokenize(source)
    _apply_whitespace_rules(texts, tags)
    parser = _Parser(texts, tags)
    program, end = parser.program(("close", "else"))
    if end is not None:
        if end.kind == "close":
            raise TemplateSyntaxError(f"{{{{/{end.content}}}}} closes no open block", line=end.line)
        raise TemplateSyntaxError("{{else}} outside a block", line=end.line)
    return Template(source, program)


def render(
    template: str,
    data: Any,
    *,
    escape_html: bool = True,
    missing: Literal["error", "empty"] = "error",
) -> str:
    """Render a Handlebars ``template`` with ``data`` the way SES does.

    ``{{var}}`` output is HTML-escaped when ``escape_html`` is true, which is
    what SES does in every part of a template (subject and text included); use
    ``{{{var}}}`` in the template for raw output.  ``missing="error"`` raises
    :class:`MissingVariable` for an output variable absent from ``data`` (SES's
    rendering failure); ``missing="empty"`` renders it as an empty string.
    Conditions and loops over absent values are simply false/empty in both
    modes.
    """
    return compile_template(template).render(data, escape_html=escape_html, missing=missing)
