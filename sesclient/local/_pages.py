"""Paging of the local endpoint's List* operations.

Tokens are opaque to clients, as SES's are; here they carry the offset of
the next item.
"""

from __future__ import annotations

import base64
from typing import TypeVar

from ._faults import SESFault

__all__ = ["paginate"]

T = TypeVar("T")


def paginate(
    items: list[T],
    token: str | None,
    size: int | None,
    *,
    default: int,
    invalid_kind: str = "InvalidParameter",
) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token of the next one (None on the last page)."""
    start = 0
    if token:
        try:
            decoded = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
            if not decoded.startswith("offset:"):
                raise ValueError(token)
            start = int(decoded[len("offset:") :])
            if start < 0:
                raise ValueError(token)
        except (ValueError, UnicodeError):
            raise SESFault(invalid_kind, "The NextToken is invalid.") from None
    if size is None or size <= 0:
        size = default
    end = start + size
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(f"offset:{end}".encode("ascii")).decode("ascii")
    return items[start:end], next_token
