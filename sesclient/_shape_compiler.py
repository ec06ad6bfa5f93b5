"""Per-shape functions compiled once from the model tables, for the local endpoint's decoders.

Shapes can contain themselves (directly or through lists and maps), so a
function being compiled must already be findable by name: a forwarding stub
stands in the cache until the real function replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def compiled(
    cache: MutableMapping[str, F | None], shape_name: str, compile: Callable[[str], F | None]
) -> F | None:
    """``cache[shape_name]``, compiling it with ``compile(shape_name)`` on first use.

    ``None`` is a valid result (a shape that needs no function); a failed
    compilation leaves no stub behind.
    """
    try:
        return cache[shape_name]
    except KeyError:
        pass
    cache[shape_name] = lambda value: cache[shape_name](value)  # type: ignore[assignment,misc]
    try:
        function = cache[shape_name] = compile(shape_name)
    except BaseException:
        del cache[shape_name]
        raise
    return function
