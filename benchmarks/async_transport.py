"""Client CPU per request: httpx's default transport vs AsyncHTTP11Transport vs aiohttp.

Usage: python benchmarks/async_transport.py [--quick] [--rounds N] [--seconds S]

Clients: httpx.AsyncClient on its default transport; httpx.AsyncClient on
AsyncHTTP11Transport; AsyncHTTP11Transport called directly with an httpx.Request (no
AsyncClient around it); httpx.AsyncClient over a transport that answers at once (the
client layer's own cost, a floor for any transport under it); aiohttp, if installed.

A canned SESv2 SendEmail endpoint (an asyncio.Protocol server answering
``{"MessageId": ...}`` with ``x-amzn-RequestId``, keep-alive) runs in a separate
process, so that the figures are the client process's own CPU time
(``getrusage(RUSAGE_SELF)`` user + sys) divided by the requests it completed.  Each
cell keeps ``in_flight`` POSTs outstanding for a fixed wall-clock budget after a
warm-up that opens the connections.  Rounds interleave the clients (rotating their
order); the table gives medians with min-max over rounds, and ratios paired per round.

An h11-based variant of the transport is not included: it would be a second transport
to maintain for a comparison only (it measured 274 us per send against 172 us for the
hand-written parser when both were prototyped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

LEVELS = (1, 16, 64, 256)
PATH = "/v2/email/outbound-emails"
BODY = json.dumps(
    {
        "FromEmailAddress": "sender@example.com",
        "Destination": {"ToAddresses": ["recipient@example.com"]},
        "Content": {
            "Simple": {
                "Subject": {"Data": "Your order has shipped"},
                "Body": {"Text": {"Data": "Hello, your order 12345 is on its way."}},
            }
        },
    }
).encode()
HEADERS = {
    "Content-Type": "application/json",
    "X-Amz-Date": "20240101T000000Z",
    "X-Amz-Content-Sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ses/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64
    ),
    "User-Agent": "sesclient-bench",
}

# -- the server (runs in its own process) -----------------------------------------------------

RESPONSE_BODY = b'{"MessageId":"0100018f00000000-11111111-2222-3333-4444-555555555555-000000"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: %d\r\n"
    b"Connection: keep-alive\r\n"
    b"x-amzn-RequestId: 2c2a6e8e-7c53-4d3e-9c3e-1d0b4c0a1f2e\r\n"
    b"\r\n%s" % (len(RESPONSE_BODY), RESPONSE_BODY)
)


class _ServerProtocol(asyncio.Protocol):
    """Answers every request with the canned response; keeps the connection open."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].lower()
            i = head.find(b"\r\ncontent-length:")
            length = 0
            if i >= 0:
                j = head.find(b"\r\n", i + 2)
                length = int(head[i + 17 : j if j >= 0 else None])
            if len(buf) < end + 4 + length:
                break
            buf = buf[end + 4 + length :]
            self.transport.write(RESPONSE)
        self.buf = buf


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_ServerProtocol, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Stop when the parent closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


# -- the clients ----------------------------------------------------------------------------

Send = Callable[[], Awaitable[None]]


class Client:
    """One HTTP client under test: ``open`` returns a send() coroutine factory."""

    name = ""

    async def open(self, url: str, limit: int) -> Send:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class HttpxDefault(Client):
    name = "httpx default"

    def make(self, limit: int) -> Any:
        import httpx

        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        return httpx.AsyncClient(limits=limits, trust_env=False)

    async def open(self, url: str, limit: int) -> Send:
        self.client = self.make(limit)
        post = self.client.post

        async def send() -> None:
            response = await post(url, content=BODY, headers=HEADERS)
            assert response.status_code == 200 and response.content == RESPONSE_BODY

        return send

    async def close(self) -> None:
        await self.client.aclose()


class HttpxFast(HttpxDefault):
    name = "httpx + AsyncHTTP11Transport"

    def make(self, limit: int) -> Any:
        import httpx

        from sesclient._transport import AsyncHTTP11Transport

        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        transport = AsyncHTTP11Transport(limits=limits, trust_env=False)
        return httpx.AsyncClient(transport=transport, trust_env=False)


class HttpxFloor(HttpxDefault):
    """httpx.AsyncClient over a transport that answers at once: the client's own cost."""

    name = "httpx client alone (no I/O)"

    def make(self, limit: int) -> Any:
        import httpx

        headers = [
            (b"Content-Type", b"application/json"),
            (b"Content-Length", b"%d" % len(RESPONSE_BODY)),
            (b"x-amzn-RequestId", b"2c2a6e8e-7c53-4d3e-9c3e-1d0b4c0a1f2e"),
        ]

        class Canned(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                stream = httpx.ByteStream(RESPONSE_BODY)
                return httpx.Response(200, headers=headers, stream=stream)

        return httpx.AsyncClient(transport=Canned(), trust_env=False)


class FastDirect(Client):
    """The transport without httpx.AsyncClient around it (what an SDK could call)."""

    name = "AsyncHTTP11Transport direct"

    async def open(self, url: str, limit: int) -> Send:
        import httpx

        from sesclient._transport import AsyncHTTP11Transport

        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        self.transport = AsyncHTTP11Transport(limits=limits, trust_env=False)
        handle = self.transport.handle_async_request
        request_class = httpx.Request
        extensions = {"timeout": {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}}

        async def send() -> None:
            request = request_class("POST", url, content=BODY, headers=HEADERS)
            request.extensions = extensions
            response = await handle(request)
            body = await response.aread()
            assert response.status_code == 200 and body == RESPONSE_BODY

        return send

    async def close(self) -> None:
        await self.transport.aclose()


class Aiohttp(Client):
    name = "aiohttp"

    async def open(self, url: str, limit: int) -> Send:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0)
        self.session = aiohttp.ClientSession(connector=connector)
        post = self.session.post

        async def send() -> None:
            async with post(url, data=BODY, headers=HEADERS) as response:
                body = await response.read()
                assert response.status == 200 and body == RESPONSE_BODY

        return send

    async def close(self) -> None:
        await self.session.close()


async def measure(send: Send, in_flight: int, seconds: float) -> float:
    """Keep in_flight sends going for ``seconds``; return client CPU us per send."""
    # Warm up: open the connections this level needs and settle the pools.
    await asyncio.gather(*(send() for _ in range(in_flight)))
    done = 0
    deadline = 0.0

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await send()
            done += 1

    before = resource.getrusage(resource.RUSAGE_SELF)
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / done * 1e6


async def bench(url: str, rounds: int, seconds: float) -> dict[str, dict[int, list[float]]]:
    clients: list[Client] = [HttpxDefault(), HttpxFast(), FastDirect(), HttpxFloor()]
    try:
        import aiohttp  # noqa: F401

        clients.append(Aiohttp())
    except ImportError:
        print("aiohttp is not installed: skipped", file=sys.stderr)
    results: dict[str, dict[int, list[float]]] = {c.name: {n: [] for n in LEVELS} for c in clients}
    limit = max(LEVELS)
    for r in range(rounds):
        order = clients[r % len(clients) :] + clients[: r % len(clients)]
        sends = [await client.open(url, limit) for client in order]
        try:
            for level in LEVELS:
                for client, send in zip(order, sends, strict=True):
                    results[client.name][level].append(await measure(send, level, seconds))
        finally:
            for client in order:
                await client.close()
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    return results


def spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def table(results: dict[str, dict[int, list[float]]]) -> str:
    names = list(results)
    fast, default = HttpxFast.name, HttpxDefault.name
    ratios = [("default / fast", default, fast)]
    if Aiohttp.name in results:
        ratios += [
            ("fast / aiohttp", fast, Aiohttp.name),
            ("direct / aiohttp", FastDirect.name, Aiohttp.name),
        ]
    header = ["in flight", *[f"{n} (us/send)" for n in names], *[r[0] for r in ratios]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for level in LEVELS:
        row = [str(level)] + [spread(results[n][level], ".0f") for n in names]
        for _, top, bottom in ratios:
            pairs = zip(results[top][level], results[bottom][level], strict=True)
            row.append(spread([t / b for t, b in pairs], ".2f") + "x")
        lines.append("| " + " | ".join(row) + " |")
    flat = [hi / lo for lo, hi in zip(results[fast][16], results[fast][256], strict=True)]
    lines.append("")
    lines.append(f"AsyncHTTP11Transport flatness, 256 vs 16 in flight: {spread(flat, '.2f')}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 short rounds (about 10 s)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="wall time per cell")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve())
        return
    rounds = args.rounds or (2 if args.quick else 5)
    seconds = args.seconds or (0.12 if args.quick else 1.5)

    # Run the package from this checkout without installing it.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}{PATH}"
        started = time.perf_counter()
        results = asyncio.run(bench(url, rounds, seconds))
        elapsed = time.perf_counter() - started
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
    import httpx

    versions = f"httpx {httpx.__version__}"
    try:
        import aiohttp

        versions += f", aiohttp {aiohttp.__version__}"
    except ImportError:
        pass
    print(
        f"Client CPU per POST, {rounds} rounds x {seconds:g} s per cell, "
        f"Python {platform.python_version()}, {versions}, {os.cpu_count()} CPUs, "
        f"{elapsed:.0f} s total\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
