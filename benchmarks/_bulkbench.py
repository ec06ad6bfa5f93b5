"""Bulk sending throughput, through the bulk sender's own benchmark (``benchmarks/bulk.py``).

Its contenders (sesclient's ``BulkSender``, with and without its journal,
aiobotocore, boto3 on threads, raw aiohttp) each run the same job: a
template to N recipients, 50 per SendBulkEmail call, at one concurrency,
against the suite's shared local endpoint.  Each job measures itself
(client CPU and wall time around the whole job, client set-up included), so
the harness only interleaves them and keeps the rounds.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from ._harness import Contender, Group, Row, Skipped, run_interleaved

__all__ = ["bulk_group"]

_TITLE = "Bulk send: recipients per second"


class _BulkJob:
    def __init__(self, bulk: Any, key: str, url: str, people: list[Any], concurrency: int):
        self._bulk = bulk
        self._key = key
        self._url = url
        self._people = people
        self._concurrency = concurrency

    def __call__(self, n: int) -> dict[str, float]:
        try:
            measured = self._bulk.run_contender(
                self._key, self._url, self._people, self._concurrency
            )
        except self._bulk.Skip as exc:
            raise Skipped(str(exc)) from None
        return {
            "recipients_per_s": measured.rate,
            "cpu_us_per_recipient": measured.cpu_us_per_recipient,
            "cpu_us_per_call": measured.cpu_us_per_send,
        }

    def close(self) -> None:
        pass


def bulk_group(settings: Any, server: Callable[[], Any]) -> Group:
    """One table from the bulk benchmark's contenders, or a skipped row saying why not."""
    if importlib.util.find_spec("benchmarks.bulk") is None:
        row = Row("sesclient", "sesclient bulk sender", "subject")
        row.skipped = "benchmarks/bulk.py (the bulk sender's benchmark) is not in this tree"
        return Group("bulk", _TITLE, "bulk", [row])
    try:
        bulk = importlib.import_module("benchmarks.bulk")
        contenders_table = bulk.CONTENDERS
    except Exception as exc:
        row = Row("sesclient", "sesclient bulk sender", "subject")
        row.skipped = f"benchmarks/bulk.py cannot be used: {type(exc).__name__}: {exc}"
        return Group("bulk", _TITLE, "bulk", [row])

    count = 1000 if settings.quick else 10_000
    concurrency = 16 if settings.quick else 64
    endpoint = server()
    bulk.create_template(endpoint.url)
    people = bulk.recipients(count)

    def make(key: str) -> Callable[[], _BulkJob]:
        def setup() -> _BulkJob:
            # A small job first: imports and caches warm, and Skipped when not installed.
            _BulkJob(bulk, key, endpoint.url, bulk.recipients(100), concurrency)(0)
            endpoint.clear()
            return _BulkJob(bulk, key, endpoint.url, people, concurrency)

        return setup

    contenders = [
        Contender(key, label, make(key), "subject" if key.startswith("sesclient") else "peer")
        for key, (label, _) in contenders_table.items()
    ]
    for contender in contenders:
        if contender.key == "raw-aiohttp":
            contender.role = "floor"
    rows = run_interleaved(contenders, rounds=settings.rounds, n=1, between=endpoint.clear)
    return Group(
        "bulk",
        f"{_TITLE} ({count:,} recipients, {concurrency} calls in flight)",
        "bulk",
        rows,
        params={"recipients": count, "concurrency": concurrency},
        subject="sesclient",
        floor="raw-aiohttp" if "raw-aiohttp" in contenders_table else None,
        note="From benchmarks/bulk.py: a template to every recipient with their own data, "
        "50 per SendBulkEmail call; CPU and wall time around each whole job, client set-up "
        "included.",
    )
