"""AsyncHTTP11Transport against real loopback servers that misbehave on demand."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sesclient._transport import AsyncHTTP11Transport

OK_BODY = b'{"MessageId":"0100018f-test"}'


def ok_response(body: bytes = OK_BODY, *, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"x-amzn-RequestId: 11111111-2222-3333-4444-555555555555\r\n"
        b"Content-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)
    )


@dataclass
class Req:
    """One request as the test server read it."""

    conn_id: int
    index: int  # position of this request on its connection, from 0
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Req, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Server:
    """A loopback HTTP/1.1 server; ``handler`` writes each reply and says whether to go on."""

    handler: Handler
    connections: int = 0
    requests: list[Req] = field(default_factory=list)
    port: int = 0
    ssl_context: ssl.SSLContext | None = None
    _server: asyncio.AbstractServer | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        conn_id = self.connections
        try:
            index = 0
            while True:
                req = await read_request(reader, conn_id, index)
                if req is None:
                    break
                self.requests.append(req)
                index += 1
                if not await self.handler(req, writer):
                    break
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass  # the test is over
        finally:
            self._tasks.discard(task)
            if not writer.is_closing():
                writer.close()

    def count(self, method: str) -> int:
        return sum(1 for r in self.requests if r.method == method)


async def read_request(reader: asyncio.StreamReader, conn_id: int, index: int) -> Req | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b""
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    return Req(conn_id, index, method, target, headers, body)


@contextlib.asynccontextmanager
async def serving(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server(handler, ssl_context=tls)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def reply_ok(req: Req, writer: asyncio.StreamWriter) -> bool:
    writer.write(ok_response(body=b'{"echo":"%s"}' % req.target.encode()))
    return True


def raw_reply(data: bytes, *, keep: bool = False) -> Handler:
    async def handler(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        return keep

    return handler


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def client(**kwargs: object) -> httpx.AsyncClient:
    timeout = kwargs.pop("timeout", 5.0)
    transport = AsyncHTTP11Transport(trust_env=False, **kwargs)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, timeout=timeout)  # type: ignore[arg-type]


# -- keep-alive and concurrency ----------------------------------------------------------


def test_keepalive_reuses_one_connection() -> None:
    async def main() -> None:
        async with serving(reply_ok) as server, client() as c:
            for i in range(5):
                r = await c.post(f"{server.url}/send/{i}", content=b"x" * i)
                assert r.status_code == 200
                assert r.json() == {"echo": f"/send/{i}"}
                assert r.headers["x-amzn-requestid"].startswith("1111")
                assert r.http_version == "HTTP/1.1"
            r = await c.get(f"{server.url}/get?q=a%20b")
            assert r.json() == {"echo": "/get?q=a%20b"}
        assert server.connections == 1
        assert [r.index for r in server.requests] == [0, 1, 2, 3, 4, 5]
        assert [r.body for r in server.requests[:5]] == [b"x" * i for i in range(5)]
        assert server.requests[0].headers["host"] == f"127.0.0.1:{server.port}"

    asyncio.run(main())


@pytest.mark.parametrize("in_flight", [1, 16, 64, 256])
def test_concurrency_respects_pool_limit(in_flight: int) -> None:
    limit = 8

    async def slow_ok(req: Req, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.001)
        return await reply_ok(req, writer)

    async def main() -> None:
        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        async with serving(slow_ok) as server, client(limits=limits) as c:
            results = await asyncio.gather(
                *(c.post(f"{server.url}/m/{i}", content=b"%d" % i) for i in range(in_flight))
            )
            assert [r.json()["echo"] for r in results] == [f"/m/{i}" for i in range(in_flight)]
        assert len(server.requests) == in_flight
        assert server.connections <= min(limit, in_flight)
        assert sorted(r.body for r in server.requests) == sorted(
            b"%d" % i for i in range(in_flight)
        )

    asyncio.run(main())


def test_pool_shared_between_origins_within_limit() -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        async with serving(reply_ok) as a, serving(reply_ok) as b, client(limits=limits) as c:
            for _ in range(3):
                urls = [a.url, b.url, a.url, b.url]
                results = await asyncio.gather(*(c.get(f"{u}/x") for u in urls))
                assert all(r.status_code == 200 for r in results)
        assert len(a.requests) == len(b.requests) == 6

    asyncio.run(main())


# -- response framing ---------------------------------------------------------------------


def test_chunked_response_with_extensions_and_trailers() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"1 ; ext\r\n \r\n"
        b"5\r\nworld\r\n"
        b"0\r\nx-checksum: abc\r\n\r\n"
    )

    async def main() -> None:
        async with serving(raw_reply(chunked, keep=True)) as server, client() as c:
            for _ in range(2):
                r = await c.get(f"{server.url}/c")
                assert r.content == b"hello world"
                assert r.headers["transfer-encoding"] == "chunked"
                assert "content-length" not in r.headers
        assert server.connections == 1

    asyncio.run(main())


def test_gzip_content_encoding_is_decoded_by_httpx() -> None:
    payload = gzip.compress(OK_BODY)
    data = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (
        len(payload),
        payload,
    )

    async def main() -> None:
        async with serving(raw_reply(data, keep=True)) as server, client() as c:
            r = await c.get(f"{server.url}/z")
            assert r.content == OK_BODY

    asyncio.run(main())


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
        b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
    ],
)
def test_read_until_close_then_new_connection(reply: bytes) -> None:
    async def main() -> None:
        async with serving(raw_reply(reply)) as server, client() as c:
            assert (await c.get(f"{server.url}/a")).content == b"until the end"
            assert (await c.get(f"{server.url}/b")).content == b"until the end"
        assert server.connections == 2

    asyncio.run(main())


def test_connection_close_header_is_honoured() -> None:
    async def main() -> None:
        data = ok_response(extra=b"Connection: close\r\n")
        async with serving(raw_reply(data, keep=True)) as server, client() as c:
            for _ in range(3):
                assert (await c.post(f"{server.url}/x", content=b"1")).json() == json_ok()
        # The server would have kept the connection; the client must not reuse it.
        assert server.connections == 3
        assert server.count("POST") == 3

    asyncio.run(main())


def test_http10_keep_alive_is_reused() -> None:
    data = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"

    async def main() -> None:
        async with serving(raw_reply(data, keep=True)) as server, client() as c:
            for _ in range(3):
                assert (await c.get(f"{server.url}/x")).text == "ok"
        assert server.connections == 1

    asyncio.run(main())


def json_ok() -> dict[str, str]:
    return {"MessageId": "0100018f-test"}


def test_head_204_304_have_no_body() -> None:
    async def handler(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.method == "HEAD":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        elif req.target == "/204":
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 1000\r\n\r\n")
        elif req.target == "/304":
            writer.write(b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n")
        else:
            writer.write(ok_response())
        return True

    async def main() -> None:
        async with serving(handler) as server, client() as c:
            r = await c.head(f"{server.url}/h")
            assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "1000")
            assert (await c.get(f"{server.url}/204")).content == b""
            assert (await c.get(f"{server.url}/304")).status_code == 304
            assert (await c.get(f"{server.url}/x")).json() == json_ok()
        assert server.connections == 1

    asyncio.run(main())


def test_interim_100_continue_is_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"

    async def main() -> None:
        async with serving(raw_reply(data + ok_response(), keep=True)) as server, client() as c:
            r = await c.post(f"{server.url}/x", content=b"1")
            assert (r.status_code, r.json()) == (200, json_ok())
            assert "link" not in r.headers

    asyncio.run(main())


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
        b"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    ],
)
def test_malformed_responses_raise_remote_protocol_error(reply: bytes) -> None:
    async def main() -> None:
        async with serving(raw_reply(reply)) as server, client() as c:
            with pytest.raises(httpx.RemoteProtocolError):
                await c.post(f"{server.url}/x", content=b"1")
            # The broken connection was dropped; a good server would be used afresh.
        assert server.count("POST") == 1

    asyncio.run(main())


def test_oversized_headers_are_rejected() -> None:
    big = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\nContent-Length: 0\r\n\r\n"
    many = b"HTTP/1.1 200 OK\r\n" + b"X-H: v\r\n" * 101 + b"Content-Length: 0\r\n\r\n"

    async def main() -> None:
        for data in (big, many):
            async with serving(raw_reply(data)) as server, client() as c:
                with pytest.raises(httpx.RemoteProtocolError, match=r"exceeds|too many"):
                    await c.get(f"{server.url}/x")

    asyncio.run(main())


def test_response_body_cap() -> None:
    async def main() -> None:
        body = b"z" * 5000
        for data in (
            ok_response(body),
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n" + body + b"\r\n",
        ):
            async with serving(raw_reply(data)) as server, client(max_response_bytes=4096) as c:
                with pytest.raises(httpx.RemoteProtocolError, match="exceeds 4096"):
                    await c.get(f"{server.url}/x")

    asyncio.run(main())


# -- disconnects and the "never sent" / "outcome unknown" line ------------------------------


async def close_silently(req: Req, writer: asyncio.StreamWriter) -> bool:
    return False


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_close_before_response_on_fresh_connection_is_not_retried(method: str) -> None:
    async def main() -> None:
        async with serving(close_silently) as server, client() as c:
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                await c.request(method, f"{server.url}/x", content=b"1")
        assert server.count(method) == 1

    asyncio.run(main())


def second_request_dropped(*, rst: bool = False) -> Handler:
    async def handler(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.index == 1:
            # The request was read in full: the server may have acted on it.
            if rst:
                reset(writer)
            return False
        writer.write(ok_response())
        return True

    return handler


@pytest.mark.parametrize("rst", [False, True])
def test_post_on_reused_connection_is_never_replayed(rst: bool) -> None:
    async def main() -> None:
        async with serving(second_request_dropped(rst=rst)) as server, client() as c:
            await c.post(f"{server.url}/first", content=b"1")
            expected = httpx.ReadError if rst else httpx.RemoteProtocolError
            with pytest.raises(expected) as info:
                await c.post(f"{server.url}/second", content=b"2")
            # Never a "nothing was sent" error type: the SDK would retry it.
            assert not isinstance(info.value, (httpx.ConnectError, httpx.TimeoutException))
        assert [r.target for r in server.requests] == ["/first", "/second"]

    asyncio.run(main())


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_idempotent_request_on_reused_connection_is_retried_once(method: str) -> None:
    async def main() -> None:
        async with serving(second_request_dropped()) as server, client() as c:
            await c.get(f"{server.url}/first")
            r = await c.request(method, f"{server.url}/second", content=b"body")
            assert r.json() == json_ok()
        second = [r for r in server.requests if r.target == "/second"]
        assert [(r.conn_id, r.index, r.body) for r in second] == [
            (1, 1, b"body"),
            (2, 0, b"body"),
        ]

    asyncio.run(main())


def test_idempotent_retry_happens_only_once() -> None:
    async def handler(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.target == "/second":
            return False  # drop it, on the reused connection and on the retry alike
        writer.write(ok_response())
        return True

    async def main() -> None:
        async with serving(handler) as server, client() as c:
            await c.get(f"{server.url}/first")
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get(f"{server.url}/second")
        assert [r.target for r in server.requests] == ["/first", "/second", "/second"]

    asyncio.run(main())


def test_stale_idle_connection_is_replaced_before_sending() -> None:
    async def close_after_reply(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok_response())
        return False  # keep-alive promised, but the server times the connection out

    async def main() -> None:
        async with serving(close_after_reply) as server, client() as c:
            for i in range(3):
                r = await c.post(f"{server.url}/{i}", content=b"%d" % i)
                assert r.json() == json_ok()
                await asyncio.sleep(0.05)  # let the FIN arrive while the connection idles
        assert server.connections == 3
        assert [r.body for r in server.requests] == [b"0", b"1", b"2"]

    asyncio.run(main())


def test_idle_reset_connection_is_replaced() -> None:
    async def rst_after_reply(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok_response())
        await writer.drain()
        await asyncio.sleep(0.01)
        reset(writer)
        return False

    async def main() -> None:
        async with serving(rst_after_reply) as server, client() as c:
            for i in range(2):
                assert (await c.post(f"{server.url}/{i}", content=b"1")).json() == json_ok()
                await asyncio.sleep(0.05)
        assert server.connections == 2
        assert server.count("POST") == 2

    asyncio.run(main())


def test_keepalive_expiry_drops_old_connections() -> None:
    async def main() -> None:
        limits = httpx.Limits(keepalive_expiry=0.02)
        async with serving(reply_ok) as server, client(limits=limits) as c:
            await c.get(f"{server.url}/a")
            await asyncio.sleep(0.1)
            await c.get(f"{server.url}/b")
        assert server.connections == 2

    asyncio.run(main())


def test_max_keepalive_zero_never_reuses() -> None:
    async def main() -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        async with serving(reply_ok) as server, client(limits=limits) as c:
            for _ in range(3):
                await c.get(f"{server.url}/a")
        assert server.connections == 3

    asyncio.run(main())


def test_reset_mid_body_is_read_error() -> None:
    async def handler(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        await asyncio.sleep(0.05)
        reset(writer)
        return False

    async def main() -> None:
        async with serving(handler) as server, client() as c:
            with pytest.raises(httpx.ReadError):
                await c.post(f"{server.url}/x", content=b"1")
        assert server.count("POST") == 1

    asyncio.run(main())


def test_eof_mid_body_is_remote_protocol_error() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"

    async def main() -> None:
        async with serving(raw_reply(data)) as server, client() as c:
            with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
                await c.post(f"{server.url}/x", content=b"1")

    asyncio.run(main())


# -- timeouts and connect errors ------------------------------------------------------------


def test_read_timeout_when_server_never_answers() -> None:
    async def silent(req: Req, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(30)
        return False

    async def main() -> None:
        async with serving(silent) as server, client(timeout=httpx.Timeout(5, read=0.1)) as c:
            with pytest.raises(httpx.ReadTimeout):
                await c.post(f"{server.url}/x", content=b"1")
        assert server.count("POST") == 1

    asyncio.run(main())


def test_read_timeout_resets_while_bytes_keep_arriving() -> None:
    async def trickle(req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        for byte in b"abcde":
            await writer.drain()
            await asyncio.sleep(0.06)
            writer.write(bytes([byte]))
        return True

    async def main() -> None:
        # Total time exceeds the read timeout; each gap does not.
        async with serving(trickle) as server, client(timeout=httpx.Timeout(5, read=0.2)) as c:
            assert (await c.get(f"{server.url}/x")).content == b"abcde"

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_connect_error() -> None:
    async def main() -> None:
        async with client() as c:
            with pytest.raises(httpx.ConnectError):
                await c.post(f"http://127.0.0.1:{free_port()}/x", content=b"1")

    asyncio.run(main())


def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never_connects(self: object, *args: object, **kwargs: object) -> None:
        await asyncio.sleep(30)

    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", never_connects)

    async def main() -> None:
        async with client(timeout=httpx.Timeout(5, connect=0.05)) as c:
            with pytest.raises(httpx.ConnectTimeout):
                await c.post("http://127.0.0.1:9/x", content=b"1")
            # The slot was freed: a second attempt times out the same way, not in the pool.
            with pytest.raises(httpx.ConnectTimeout):
                await c.post("http://127.0.0.1:9/x", content=b"1")

    asyncio.run(main())


def test_pool_timeout_and_no_leaked_slot() -> None:
    gate = asyncio.Event()

    async def gated(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.target == "/slow":
            await gate.wait()
        writer.write(ok_response())
        return True

    async def main() -> None:
        limits = httpx.Limits(max_connections=1)
        timeout = httpx.Timeout(5, pool=0.05)
        async with serving(gated) as server, client(limits=limits, timeout=timeout) as c:
            slow = asyncio.create_task(c.get(f"{server.url}/slow"))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout):
                await c.post(f"{server.url}/waiting", content=b"1")
            gate.set()
            assert (await slow).status_code == 200
            assert (await c.post(f"{server.url}/after", content=b"1")).status_code == 200
        assert [r.target for r in server.requests] == ["/slow", "/after"]

    asyncio.run(main())


def test_waiters_are_served_fifo_by_handover() -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=1)
        async with serving(reply_ok) as server, client(limits=limits) as c:
            results = await asyncio.gather(*(c.get(f"{server.url}/{i}") for i in range(20)))
            assert all(r.status_code == 200 for r in results)
        assert server.connections == 1
        assert [r.target for r in server.requests] == [f"/{i}" for i in range(20)]

    asyncio.run(main())


def test_cancelled_request_frees_its_slot() -> None:
    async def handler(req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.target == "/hang":
            await asyncio.sleep(30)
        writer.write(ok_response())
        return True

    async def main() -> None:
        limits = httpx.Limits(max_connections=1)
        async with serving(handler) as server, client(limits=limits) as c:
            hung = asyncio.create_task(c.get(f"{server.url}/hang"))
            waiting = asyncio.create_task(c.get(f"{server.url}/queued"))
            await asyncio.sleep(0.05)
            waiting.cancel()
            hung.cancel()
            for task in (hung, waiting):
                with pytest.raises(asyncio.CancelledError):
                    await task
            r = await c.get(f"{server.url}/after")
            assert r.status_code == 200
        assert server.count("GET") == 2

    asyncio.run(main())


# -- request encoding ---------------------------------------------------------------------


def test_streaming_request_body_is_sent_chunked() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"Action=SendEmail", b"&Version=2010-12-01", b""):
            yield part

    async def main() -> None:
        async with serving(reply_ok) as server, client() as c:
            r = await c.post(f"{server.url}/", content=parts())
            assert r.status_code == 200
            r = await c.post(f"{server.url}/", content=b"")
            assert r.status_code == 200
        assert server.requests[0].headers["transfer-encoding"] == "chunked"
        assert server.requests[0].body == b"Action=SendEmail&Version=2010-12-01"
        assert server.requests[1].headers["content-length"] == "0"

    asyncio.run(main())


def test_header_injection_is_refused_before_sending() -> None:
    async def main() -> None:
        async with serving(reply_ok) as server, client() as c:
            with pytest.raises(httpx.LocalProtocolError):
                await c.get(f"{server.url}/x", headers={"x-a": "1\r\nx-smuggled: 1"})
            with pytest.raises(httpx.LocalProtocolError):
                await c.get(f"{server.url}/x", headers={"bad name": "1"})
            assert (await c.get(f"{server.url}/ok")).status_code == 200
        assert [r.target for r in server.requests] == ["/ok"]

    asyncio.run(main())


def test_request_connection_close_is_honoured() -> None:
    async def main() -> None:
        async with serving(reply_ok) as server, client() as c:
            for _ in range(2):
                await c.get(f"{server.url}/x", headers={"Connection": "close"})
        assert server.connections == 2

    asyncio.run(main())


def test_aclose_closes_connections_and_refuses_new_requests() -> None:
    async def main() -> None:
        transport = AsyncHTTP11Transport(trust_env=False)
        async with serving(reply_ok) as server:
            c = httpx.AsyncClient(transport=transport)
            await c.get(f"{server.url}/x")
            await c.aclose()
            await asyncio.sleep(0.02)
            assert server._tasks == set()  # the server saw EOF on the idle connection
            with pytest.raises(RuntimeError):
                await transport.handle_async_request(httpx.Request("GET", f"{server.url}/y"))

    asyncio.run(main())


def test_unsupported_proxy_and_scheme() -> None:
    with pytest.raises(ValueError, match="http:// proxies only"):
        AsyncHTTP11Transport(proxy="socks5://127.0.0.1:1080")

    async def main() -> None:
        async with client() as c:
            with pytest.raises(httpx.UnsupportedProtocol):
                await c.get("ftp://127.0.0.1/x")

    asyncio.run(main())


def test_repr_shows_no_proxy_credentials() -> None:
    transport = AsyncHTTP11Transport(proxy="http://user:s3cret@127.0.0.1:3128")
    assert "s3cret" not in repr(transport)


# -- TLS and proxies ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not available to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    result = subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"openssl could not make a certificate: {result.stderr[-200:]!r}")
    return cert, key


def server_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*tls_files)
    return ctx


def test_tls_with_self_signed_certificate(tls_files: tuple[Path, Path]) -> None:
    async def main() -> None:
        verify = ssl.create_default_context(cafile=str(tls_files[0]))
        async with serving(reply_ok, tls=server_tls(tls_files)) as server:
            async with client(verify=verify) as c:
                for i in range(3):
                    assert (await c.post(f"{server.url}/{i}", content=b"1")).status_code == 200
            assert server.connections == 1
            # Without the CA the handshake fails before anything is sent.
            async with client() as c:
                with pytest.raises(httpx.ConnectError):
                    await c.post(f"{server.url}/x", content=b"1")
            assert server.count("POST") == 3

    asyncio.run(main())


@dataclass
class Proxy:
    """A tiny forwarding proxy: absolute-form for http://, CONNECT tunnels otherwise."""

    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.AbstractServer | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            method, target, _ = head.split(b"\r\n", 1)[0].split(b" ")
            if method != b"CONNECT":
                await self._forward(head, reader, writer)
                return
            host, _, port = target.rpartition(b":")
            if host != b"127.0.0.1":
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            up_reader, up_writer = await asyncio.open_connection(host.decode(), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _forward(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Relay absolute-form requests (Content-Length bodies) one at a time."""
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request_line, rest = head.split(b"\r\n", 1)
                method, target, version = request_line.split(b" ")
                url = httpx.URL(target.decode())
                body = await reader.readexactly(content_length(head))
                if upstream is None:
                    upstream = await asyncio.open_connection(url.host, url.port)
                line = b"%s %s %s\r\n" % (method, url.raw_path, version)
                upstream[1].write(line + rest + body)
                response = await upstream[0].readuntil(b"\r\n\r\n")
                writer.write(response + await upstream[0].readexactly(content_length(response)))
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                self.requests.append(head)
        finally:
            if upstream is not None:
                upstream[1].close()


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def proxying() -> AsyncIterator[Proxy]:
    proxy = Proxy()
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def test_http_target_through_proxy_uses_absolute_form() -> None:
    async def main() -> None:
        async with serving(reply_ok) as server, proxying() as proxy:
            transport = AsyncHTTP11Transport(
                proxy=f"http://user:pw@127.0.0.1:{proxy.port}", trust_env=False
            )
            async with httpx.AsyncClient(transport=transport) as c:
                for i in range(2):
                    r = await c.post(f"{server.url}/p/{i}?a=1", content=b"body")
                    assert r.json() == {"echo": f"/p/{i}?a=1"}
        first = proxy.requests[0]
        assert first.startswith(b"POST %s/p/0?a=1 HTTP/1.1\r\n" % server.url.encode())
        assert b"Proxy-Authorization: Basic dXNlcjpwdw==\r\n" in first
        assert len(proxy.requests) == 2
        assert proxy.connections == 1  # the proxied connection was kept alive
        assert [r.body for r in server.requests] == [b"body", b"body"]

    asyncio.run(main())


def test_https_target_through_proxy_tunnel(tls_files: tuple[Path, Path]) -> None:
    async def main() -> None:
        verify = ssl.create_default_context(cafile=str(tls_files[0]))
        async with serving(reply_ok, tls=server_tls(tls_files)) as server, proxying() as proxy:
            transport = AsyncHTTP11Transport(
                proxy=f"127.0.0.1:{proxy.port}", verify=verify, trust_env=False
            )
            async with httpx.AsyncClient(transport=transport) as c:
                for i in range(3):
                    r = await c.post(f"{server.url}/t/{i}", content=b"secret")
                    assert r.json() == {"echo": f"/t/{i}"}
        assert proxy.requests == [
            b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
            % (server.port, server.port)
        ]
        assert server.connections == 1
        assert [r.body for r in server.requests] == [b"secret"] * 3

    asyncio.run(main())


def test_refused_connect_is_proxy_error() -> None:
    async def main() -> None:
        async with proxying() as proxy:
            transport = AsyncHTTP11Transport(proxy=f"http://127.0.0.1:{proxy.port}")
            async with httpx.AsyncClient(transport=transport) as c:
                with pytest.raises(httpx.ProxyError, match="403"):
                    await c.post("https://localhost:1/x", content=b"1")

    asyncio.run(main())


def test_environment_proxy_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)

    async def main() -> None:
        async with serving(reply_ok) as server, proxying() as proxy:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
            async with httpx.AsyncClient(transport=AsyncHTTP11Transport()) as c:
                assert (await c.get(f"{server.url}/via")).status_code == 200
            assert len(proxy.requests) == 1

            monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
            async with httpx.AsyncClient(transport=AsyncHTTP11Transport()) as c:
                assert (await c.get(f"{server.url}/direct")).status_code == 200
            async with httpx.AsyncClient(transport=AsyncHTTP11Transport(trust_env=False)) as c:
                monkeypatch.delenv("NO_PROXY")
                assert (await c.get(f"{server.url}/direct")).status_code == 200
            assert len(proxy.requests) == 1
        assert [r.target for r in server.requests] == ["/via", "/direct", "/direct"]

    asyncio.run(main())


def test_large_request_body_goes_through_flow_control() -> None:
    body = os.urandom(3 * 1024 * 1024)

    async def main() -> None:
        async with serving(reply_ok) as server, client(timeout=httpx.Timeout(10, write=2)) as c:
            for _ in range(2):
                assert (await c.post(f"{server.url}/big", content=body)).status_code == 200
        assert [r.body == body for r in server.requests] == [True, True]
        assert server.connections == 1

    asyncio.run(main())


def test_write_timeout_when_server_stops_reading() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    async def main() -> None:
        server = await asyncio.start_server(never_read, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with client(timeout=httpx.Timeout(10, write=0.2)) as c:
                with pytest.raises(httpx.WriteTimeout):
                    await c.post(f"http://127.0.0.1:{port}/x", content=b"x" * (64 * 1024 * 1024))
        finally:
            for writer in accepted:
                writer.close()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_transport_refuses_a_second_event_loop() -> None:
    transport = AsyncHTTP11Transport(trust_env=False)

    async def use(url: str) -> None:
        await transport.handle_async_request(httpx.Request("GET", url))

    async def first() -> None:
        async with serving(reply_ok) as server:
            request = httpx.Request("GET", server.url, headers={"Connection": "close"})
            response = await transport.handle_async_request(request)
            assert response.status_code == 200

    async def second() -> None:
        with pytest.raises(RuntimeError, match="event loop"):
            await use("http://127.0.0.1:9/")

    asyncio.run(first())
    asyncio.run(second())


def test_write_that_fails_at_once_on_a_reused_connection_is_retried() -> None:
    async def main() -> None:
        transport = AsyncHTTP11Transport(trust_env=False)
        async with serving(reply_ok) as server, httpx.AsyncClient(transport=transport) as c:
            await c.post(f"{server.url}/first", content=b"1")
            [conn] = transport._all
            replaced: list[object] = []
            original = transport._replace

            async def spy(*args: object) -> object:
                replaced.append(args[3])
                return await original(*args)  # type: ignore[arg-type]

            transport._replace = spy  # type: ignore[method-assign]
            # Break the idle socket behind asyncio's back: the next send() fails with
            # EPIPE inside write(), before a byte of the request leaves.
            conn.transport.get_extra_info("socket").shutdown(socket.SHUT_WR)
            r = await c.post(f"{server.url}/second", content=b"2")
            assert r.json() == {"echo": "/second"}
            assert replaced == [None]  # replaced as "nothing written", not as a replay
        assert [(r.target, r.conn_id) for r in server.requests] == [("/first", 1), ("/second", 2)]

    asyncio.run(main())


def test_failed_replay_still_reports_the_first_attempt_as_sent() -> None:
    async def main() -> None:
        transport = AsyncHTTP11Transport(trust_env=False)
        original = transport._replace

        async def replace_with_broken(*args: object) -> object:
            conn = await original(*args)  # type: ignore[arg-type]
            conn.transport.get_extra_info("socket").shutdown(socket.SHUT_WR)
            return conn

        transport._replace = replace_with_broken  # type: ignore[method-assign]
        c = httpx.AsyncClient(transport=transport)
        async with serving(second_request_dropped()) as server, c:
            await c.get(f"{server.url}/first")
            # The GET was written and dropped; the replay breaks before writing.
            # Reporting ConnectError would claim that nothing was ever sent.
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get(f"{server.url}/second")
        assert [r.target for r in server.requests] == ["/first", "/second"]

    asyncio.run(main())
