"""Bulk sending: one message to many recipients, paced, batched, journaled and accounted for.

::

    from sesclient import AsyncSESClient
    from sesclient.bulk import BulkSender

    async with AsyncSESClient(retries=1) as client:
        sender = BulkSender(client, from_addr="news@example.com", template="Weekly")
        async for result in sender.results(recipients):
            print(result.address, result.status, result.message_id or result.code)

:class:`SyncBulkSender` does the same from synchronous code.  The names are
imported on first use, so importing this package costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "BulkRun",
    "BulkSender",
    "JournalMismatch",
    "Malformed",
    "Recipient",
    "RecipientResult",
    "RunSummary",
    "SyncBulkSender",
    "read_recipients",
]

_EXPORTS = {
    "BulkRun": "sesclient.bulk._sender",
    "BulkSender": "sesclient.bulk._sender",
    "JournalMismatch": "sesclient.bulk._journal",
    "Malformed": "sesclient.bulk._input",
    "Recipient": "sesclient.bulk._input",
    "RecipientResult": "sesclient.bulk._result",
    "RunSummary": "sesclient.bulk._result",
    "SyncBulkSender": "sesclient.bulk._sync",
    "read_recipients": "sesclient.bulk._input",
}

if TYPE_CHECKING:
    from ._input import Malformed, Recipient, read_recipients
    from ._journal import JournalMismatch
    from ._result import RecipientResult, RunSummary
    from ._sender import BulkRun, BulkSender
    from ._sync import SyncBulkSender


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sesclient.bulk' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
