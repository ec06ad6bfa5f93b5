"""Sending a batch run's emails: the one seam between the node and the bulk engine.

:func:`send_all` is the only place that decides *how* many emails go out.
Today it sends them concurrently over one pooled async client, at most
``concurrency`` in flight, leaving throttling to the client's retry policy.
When :mod:`sesclient.bulk` lands, this function's body becomes a call to its
``BulkSender`` (batching per SendBulkEmail, pacing by the account's rate);
its signature and result shape stay as they are, so nothing else changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ._render import OutgoingEmail

__all__ = ["DEFAULT_CONCURRENCY", "send_all"]

DEFAULT_CONCURRENCY = 10

_log = logging.getLogger("sesclient.node")


async def send_all(
    client: Any, emails: Sequence[OutgoingEmail], *, concurrency: int = DEFAULT_CONCURRENCY
) -> list[Any]:
    """Send every email through ``client`` (an ``AsyncSESClient``).

    Returns one outcome per email, in order: the client's ``SendResult`` or
    the exception that send raised.  Every email gets an outcome; none is
    dropped, and one failure does not stop the others.
    """
    import asyncio

    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    gate = asyncio.Semaphore(concurrency)

    async def one(email: OutgoingEmail) -> Any:
        async with gate:
            try:
                return await client.send_email(**email.send_kwargs())
            except Exception as exc:  # reported per item, never lost
                if not _is_ses_error(exc):
                    _log.error("unexpected error sending a batch item", exc_info=True)
                return exc

    return list(await asyncio.gather(*(one(email) for email in emails)))


def _is_ses_error(exc: BaseException) -> bool:
    from sesclient._errors import SESError

    return isinstance(exc, SESError)
