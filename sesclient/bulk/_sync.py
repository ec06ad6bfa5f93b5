""":class:`SyncBulkSender`: the bulk engine for synchronous code.

The engine (pacing, batching, journal) is asyncio, so the synchronous
wrapper runs it on an event loop of its own, in a background thread, and
hands results back through a queue.  Given a :class:`SESClient`, the engine's
requests go through that shared client from a pool of worker threads.  It
works the same from a script, a worker process or a thread that already runs
an event loop (a notebook).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._result import RecipientResult, RunSummary

if TYPE_CHECKING:
    from .._client import AsyncSESClient, SESClient

__all__ = ["SyncBulkRun", "SyncBulkSender"]


class SyncBulkSender:
    """A :class:`BulkSender` for synchronous callers.

    ``client`` is a :class:`~sesclient.SESClient`, which the run shares: its
    requests go out through that client's connection pool from a pool of
    ``concurrency`` threads.  Or it is a callable returning a fresh
    :class:`~sesclient.AsyncSESClient` (called on the run's thread and closed
    at the end), for the async transport's lower cost per send.  Every other keyword
    argument is :class:`BulkSender`'s.  ``on_result`` is called on the thread
    that iterates the results (or calls :meth:`run`); the recipients iterable
    is read from the run's thread.
    """

    def __init__(self, client: SESClient | Callable[[], AsyncSESClient], **options: Any) -> None:
        from .._client import SESClient

        if isinstance(client, SESClient):
            self._factory: Callable[[], Any] = _threaded_factory(
                client, options.get("api"), int(options.get("concurrency", 16))
            )
        elif callable(client):
            self._factory = client
        else:
            raise TypeError(
                "client must be a SESClient or a callable returning an AsyncSESClient, "
                f"not {type(client).__name__}"
            )
        self._on_result = options.pop("on_result", None)
        self._options = options
        # Fail on bad options now, not on the run's thread.
        _check_options(options)

    def results(self, recipients: Iterable[Any], *, total: int | None = None) -> SyncBulkRun:
        """Start a run; iterate the returned :class:`SyncBulkRun` for results as they come."""
        return SyncBulkRun(self._factory, self._options, self._on_result, recipients, total)

    def run(self, recipients: Iterable[Any], *, total: int | None = None) -> RunSummary:
        """Send to every recipient and return the summary."""
        with self.results(recipients, total=total) as run:
            for _ in run:
                pass
        assert run.summary is not None
        return run.summary


class _Done:
    __slots__ = ("summary",)

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class SyncBulkRun:
    """One run of a :class:`SyncBulkSender`: an iterator of :class:`RecipientResult`.

    ``summary`` is set when the iteration is over.  :meth:`close` (or leaving a
    ``with`` block) stops a run that is still going.
    """

    def __init__(
        self,
        factory: Callable[[], Any],
        options: dict[str, Any],
        on_result: Callable[[RecipientResult], Any] | None,
        recipients: Iterable[Any],
        total: int | None,
    ) -> None:
        self._factory = factory
        self._options = options
        self._on_result = on_result
        self._recipients = recipients
        self._total = total
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._ready = threading.Event()
        self._finished = False
        self.summary: RunSummary | None = None

    def __iter__(self) -> Iterator[RecipientResult]:
        return self

    def __next__(self) -> RecipientResult:
        if self._finished:
            raise StopIteration
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="sesclient-bulk", daemon=True)
            self._thread.start()
        item = self._queue.get()
        if type(item) is RecipientResult:
            if self._on_result is not None:
                self._on_result(item)
            return item
        self._finished = True
        self._thread.join()
        if isinstance(item, _Done):
            self.summary = item.summary
            raise StopIteration
        raise item.error

    def close(self) -> None:
        """Stop the run if it is still going, and wait for its thread."""
        thread = self._thread
        if thread is None or self._finished:
            return
        self._ready.wait()
        loop, task = self._loop, self._task
        if loop is not None and task is not None and thread.is_alive():
            loop.call_soon_threadsafe(task.cancel)
        thread.join()
        self._finished = True

    def __enter__(self) -> SyncBulkRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # handed to the iterating thread
            self._queue.put(_Failed(exc))
        finally:
            self._ready.set()

    async def _run(self) -> None:
        from ._sender import BulkSender

        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._ready.set()
        client = self._factory()
        try:
            sender = BulkSender(client, **self._options, on_result=self._queue.put)
            summary = await sender.run(self._recipients, total=self._total)
        finally:
            await client.aclose()
        self._queue.put(_Done(summary))


def _threaded_factory(
    client: SESClient, api: str | None, concurrency: int
) -> Callable[[], ThreadedClient]:
    """Make the engine's client for a run: ``client`` itself, on a pool of threads."""

    def factory() -> ThreadedClient:
        # One attempt per request: throttling must reach the engine's rate limiter.
        return ThreadedClient(client.with_options(api=api, retries=1), workers=concurrency)

    return factory


class ThreadedClient:
    """The asynchronous face the engine drives, over a shared synchronous client.

    Every call runs on one of ``workers`` threads through the same
    :class:`~sesclient.SESClient`, so a synchronous application's bulk runs
    share its connection pool, credentials and clock correction.
    """

    def __init__(self, client: SESClient, *, workers: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._client = client
        self.api = client.api
        self._threads = ThreadPoolExecutor(
            max_workers=max(workers, 1), thread_name_prefix="sesclient-bulk"
        )
        self.v1 = _ThreadedOperations(self, client.v1)
        self.v2 = _ThreadedOperations(self, client.v2)

    async def call(self, function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        """``function(**kwargs)`` on a worker thread."""
        from functools import partial

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, partial(function, **kwargs))

    async def send_email(self, **kwargs: Any) -> Any:
        return await self.call(self._client.send_email, kwargs)

    async def aclose(self) -> None:
        """Stop the threads; the synchronous client stays open for its owner."""
        self._threads.shutdown(wait=True)


class _ThreadedOperations:
    """``client.v1`` / ``client.v2`` of a :class:`ThreadedClient`: awaitable operations."""

    def __init__(self, owner: ThreadedClient, operations: Any) -> None:
        self._owner = owner
        self._operations = operations

    def __getattr__(self, name: str) -> Callable[..., Any]:
        function = getattr(self._operations, name)
        owner = self._owner

        async def operation(**kwargs: Any) -> Any:
            return await owner.call(function, kwargs)

        setattr(self, name, operation)
        return operation


def _check_options(options: dict[str, Any]) -> None:
    from types import SimpleNamespace

    from ._sender import BulkSender

    # The sender reads nothing but ``api`` from its client when it is made.
    BulkSender(SimpleNamespace(api=options.get("api") or "v2"), **options)  # type: ignore[arg-type]
