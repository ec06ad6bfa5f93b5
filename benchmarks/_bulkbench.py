"""Bulk sending throughput, through the bulk helper's own benchmark when it exists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._harness import Group, Row

__all__ = ["bulk_group"]


def bulk_group(settings: Any, server: Callable[[], Any]) -> Group:
    row = Row("sesclient-bulk", "sesclient bulk sender", "subject")
    row.skipped = "benchmarks/bulk.py (the bulk sender's benchmark) is not in this tree"
    return Group("bulk", "Bulk send: recipients per second", "bulk", [row])
