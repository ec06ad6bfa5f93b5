"""The local endpoint's own throughput: a raw asyncio load generator.

Many keep-alive connections each send a prebuilt SESv2 SendEmail, wait for
the whole response, and send again, for a fixed time.  The generator is a
bare ``asyncio.Protocol`` that only finds ``Content-Length`` in the answer,
so it costs a fraction of what the server spends per request and the rate it
sees is the server's.  The server's own CPU per request comes from
``/proc/<pid>/stat`` around the run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from ._harness import Contender
from ._peers import V2_BODY, V2_PATH, signed_v2_request
from ._servers import ServerProcess

__all__ = ["LoadRun", "rps_contenders"]


def request_bytes(url: str, *, signed: bool) -> bytes:
    """One complete HTTP/1.1 SendEmail request for ``url``, signed or not."""
    parts = urlsplit(url)
    headers = signed_v2_request(url + V2_PATH, signed=signed)
    lines = [f"POST {V2_PATH} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(V2_BODY)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + V2_BODY


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Blast) -> None:
        self._run = run
        self._buffer = b""
        self._transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        transport.write(self._run.request)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        run = self._run
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            length = 0
            at = head.lower().find(b"content-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop > 0 else len(head)])
            total = end + 4 + length
            if len(buffer) < total:
                break
            buffer = buffer[total:]
            run.done(head[9:12] == b"200")
            if run.running:
                self._transport.write(run.request)
            else:
                self._transport.close()
                break
        self._buffer = buffer

    def connection_lost(self, exc: BaseException | None) -> None:
        self._run.closed()


class _Blast:
    def __init__(self, request: bytes, deadline: float) -> None:
        self.request = request
        self.deadline = deadline
        self.running = True
        self.ok = 0
        self.errors = 0
        self.open = 0
        self.all_closed = asyncio.Event()

    def done(self, ok: bool) -> None:
        if time.perf_counter() >= self.deadline:
            self.running = False
            return
        if ok:
            self.ok += 1
        else:
            self.errors += 1

    def closed(self) -> None:
        self.open -= 1
        if self.open <= 0:
            self.all_closed.set()


async def _blast(host: str, port: int, request: bytes, connections: int, seconds: float) -> _Blast:
    loop = asyncio.get_running_loop()
    run = _Blast(request, float("inf"))
    transports = []
    for _ in range(connections):
        transport, _ = await loop.create_connection(lambda: _Connection(run), host, port)
        transports.append(transport)
        run.open += 1
    # Connections start sending as they open; the clock starts once they all are.
    run.ok = run.errors = 0
    started = time.perf_counter()
    run.deadline = started + seconds
    await asyncio.sleep(seconds)
    run.running = False
    try:
        await asyncio.wait_for(run.all_closed.wait(), timeout=10)
    except asyncio.TimeoutError:
        for transport in transports:
            transport.close()
    return run


class LoadRun:
    """One server configuration under load; each call is one timed run."""

    def __init__(self, server: ServerProcess, *, signed: bool, connections: int, seconds: float):
        self._server = server
        self._signed = signed
        self._connections = connections
        self._seconds = seconds
        self._parts = urlsplit(server.url)
        self._request = request_bytes(server.url, signed=signed)

    def prepare(self) -> None:
        self._server.clear()
        self._request = request_bytes(self._server.url, signed=self._signed)

    def __call__(self, n: int) -> dict[str, float]:
        cpu0 = self._server.cpu_seconds()
        run = asyncio.run(
            _blast(
                self._parts.hostname or "127.0.0.1",
                self._parts.port or 80,
                self._request,
                self._connections,
                self._seconds,
            )
        )
        cpu1 = self._server.cpu_seconds()
        handled = run.ok + run.errors
        if run.errors:
            raise RuntimeError(f"{run.errors} of {handled} requests were refused")
        return {
            "rps": run.ok / self._seconds,
            "server_cpu_us": (cpu1 - cpu0) / handled * 1e6 if handled else float("nan"),
        }

    def close(self) -> None:
        pass


def rps_contenders(
    servers: dict[str, ServerProcess], *, connections: int, seconds: float
) -> list[Contender]:
    """``servers`` maps ``"off"``/``"on"`` to a running endpoint without/with its checks."""
    return [
        Contender(
            "checks-off",
            "signature check off, any sender (unsigned requests)",
            lambda: LoadRun(servers["off"], signed=False, connections=connections, seconds=seconds),
            "subject",
        ),
        Contender(
            "checks-on",
            "SigV4 checked, sender must be verified (signed requests)",
            lambda: LoadRun(servers["on"], signed=True, connections=connections, seconds=seconds),
            "subject",
        ),
    ]
