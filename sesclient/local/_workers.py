"""Running the local endpoint until a signal: one process, or several sharing a port.

With ``workers > 1`` the first process binds with ``SO_REUSEPORT`` and the
others (started with the ``spawn`` method) bind the same port, so the kernel
spreads connections across them.  Each worker has its own in-memory state:
identities, templates, the inbox and the counters are shared only through a
SQLite ``db``; the send rate and the 24-hour quota are always per worker.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Any

from ._config import LocalSESConfig
from ._server import LocalSES

__all__ = ["serve_forever"]


async def _serve_until_signal(
    server: LocalSES, on_ready: Callable[[LocalSES], None], *, reuse_port: bool
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on Unix
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    await server.start(reuse_port=reuse_port)
    try:
        on_ready(server)
        await stop.wait()
    finally:
        await server.stop()


def _worker(config: LocalSESConfig, ready: Any, failed: Any) -> None:
    """Body of a spawned worker process."""
    server = LocalSES(config)
    try:
        asyncio.run(_serve_until_signal(server, lambda _: ready.set(), reuse_port=True))
    except OSError as exc:
        failed.put(f"worker could not listen on {config.host}:{config.port}: {exc.strerror}")
        ready.set()
        sys.exit(1)
    except Exception as exc:  # report it instead of leaving the parent waiting
        failed.put(f"worker failed to start: {type(exc).__name__}: {exc}")
        ready.set()
        sys.exit(1)


def serve_forever(
    config: LocalSESConfig, *, workers: int = 1, on_ready: Callable[[LocalSES], None]
) -> None:
    """Serve until SIGINT or SIGTERM.  ``on_ready`` runs once every worker listens.

    Raises :class:`OSError` when the port cannot be bound and
    :class:`RuntimeError` when a worker fails to start.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        asyncio.run(_serve_until_signal(LocalSES(config), on_ready, reuse_port=False))
        return
    import multiprocessing
    import socket

    # Pick the port before any worker starts (port 0 means any free one).  The
    # reserving socket never listens, so it never receives a connection.
    reserve = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET)
    reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        reserve.bind((config.host, config.port))
    except OSError:
        reserve.close()
        raise
    shared = config.replace(port=reserve.getsockname()[1])
    if config.db:
        # Create the schema and switch to WAL once, here: workers doing it at the
        # same moment collide on SQLite's lock for the journal-mode change.
        from ._store import open_store

        open_store(config.db).close()
    # Workers are forked before this process runs an event loop; spawn where
    # fork does not exist.
    # Literal method names, so that type checkers know the context has ``Process``.
    context = (
        multiprocessing.get_context("fork")
        if "fork" in multiprocessing.get_all_start_methods()
        else multiprocessing.get_context("spawn")
    )
    failed = context.Queue()
    processes: list[Any] = []
    readiness = []
    try:
        for _ in range(workers - 1):
            ready = context.Event()
            process = context.Process(
                target=_worker, args=(shared, ready, failed), name="local-ses-worker", daemon=True
            )
            process.start()
            processes.append(process)
            readiness.append(ready)

        def all_ready(first: LocalSES) -> None:
            reserve.close()
            for ready in readiness:
                if not ready.wait(30):
                    raise RuntimeError("a worker process did not start in time")
            if not failed.empty():
                raise RuntimeError(failed.get())
            on_ready(first)

        asyncio.run(_serve_until_signal(LocalSES(shared), all_ready, reuse_port=True))
    finally:
        reserve.close()
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(10)
