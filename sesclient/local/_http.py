"""A small, fast HTTP/1.1 server protocol on :class:`asyncio.Protocol`.

Just what an API endpoint needs: keep-alive and pipelining (answers leave in
request order), ``Content-Length`` and chunked request bodies,
``Expect: 100-continue``, and back-pressure.  The application is one
synchronous callable per request; it may ask for a delayed answer or for the
connection to be reset instead of answered, which is how faults are injected.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Final

__all__ = ["RESET", "Delayed", "HTTPProtocol", "Request", "Response", "WriteCoalescer"]

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_HEADERS: Final = 100

#: (status, extra headers, body).  Date, Content-Length and Connection are added here.
Response = tuple[int, list[tuple[str, str]], bytes]


class _Reset:
    """Answer nothing: reset the connection abortively."""

    def __repr__(self) -> str:
        return "RESET"


RESET: Final = _Reset()


class Delayed:
    """Answer after ``seconds``; ``then`` is called at that time and gives the real answer."""

    __slots__ = ("seconds", "then")

    def __init__(self, seconds: float, then: Callable[[], Response | _Reset]) -> None:
        self.seconds = seconds
        self.then = then


Outcome = Response | _Reset | Delayed


class Request:
    """One parsed request.  ``headers`` has lower-cased names."""

    __slots__ = ("body", "headers", "method", "path", "query", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        path, _, query = target.partition("?")
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


_REASONS = {status.value: status.phrase for status in HTTPStatus}
_STATUS_LINES: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode("latin-1")
        )
    return line


_date_second = 0
_date_header = b""


def _date_line() -> bytes:
    """``Date: ...`` for now, formatted at most once a second."""
    global _date_second, _date_header
    now = int(time.time())
    if now != _date_second:
        _date_second = now
        _date_header = f"Date: {formatdate(now, usegmt=True)}\r\n".encode("ascii")
    return _date_header


def http_date() -> str:
    return _date_line()[6:-2].decode("ascii")


_LINGER_RESET = struct.pack("ii", 1, 0)


class WriteCoalescer:
    """Holds the answers of one event-loop iteration and writes them all at its end.

    A burst of requests on many keep-alive connections comes out of one
    ``select``.  Answering each as soon as it is ready makes the kernel wake
    the waiting peer for nearly every answer, inside our ``send``; on a
    virtual machine those wake-ups (inter-processor interrupts) took a fifth
    of the endpoint's CPU time.  Writing the burst together wakes it about
    once.  An answer waits only for the requests already read in the same
    iteration, and a lone connection is answered at once, so a sequential
    client sees no added latency.
    """

    __slots__ = ("_loop", "_pending", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[HTTPProtocol] = []
        self._scheduled = False

    def add(self, protocol: HTTPProtocol) -> None:
        """Flush ``protocol`` once every callback of this iteration has run."""
        self._pending.append(protocol)
        if not self._scheduled:
            self._scheduled = True
            # call_soon from a callback runs after every callback this iteration
            # has already queued, i.e. after every connection that was ready.
            self._loop.call_soon(self._flush_all)

    def _flush_all(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        for protocol in pending:
            protocol._flush()


# Parser states.
_HEAD = 0
_BODY = 1
_CHUNK_SIZE = 2
_CHUNK_DATA = 3
_CHUNK_CRLF = 4
_TRAILERS = 5


class HTTPProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(
        self,
        app: Callable[[Request], Outcome],
        *,
        connections: set[HTTPProtocol],
        max_body: int,
        on_error: Callable[[BaseException], None] | None = None,
        coalescer: WriteCoalescer | None = None,
    ) -> None:
        self._app = app
        self._connections = connections
        self._coalescer = coalescer
        self._max_body = max_body
        self._on_error = on_error
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._out: list[bytes] = []
        self._state = _HEAD
        self._busy = False  # a delayed answer is pending: later requests wait
        self._paused = False  # the client is not reading: stop answering
        self._closing = False
        # The request being read.
        self._method = ""
        self._target = ""
        self._headers: dict[str, str] = {}
        self._keep_alive = True
        self._remaining = 0
        self._chunks: list[bytes] = []
        self._chunked_size = 0
        self._continue_sent = False

    # -- asyncio callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy and not self._paused:
            self._drain()

    def eof_received(self) -> bool | None:
        # Half-closed by the client: answer what is complete, then close.
        self._keep_alive = False
        if not self._busy and self._state == _HEAD and not self._buffer:
            self.close()
        return True

    def pause_writing(self) -> None:
        self._paused = True
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused = False
        if self._transport is not None and not self._closing:
            self._transport.resume_reading()
            if not self._busy:
                self._drain()

    # -- control -----------------------------------------------------------

    def close(self) -> None:
        if not self._closing and self._transport is not None:
            self._flush()
            self._closing = True
            self._transport.close()

    def reset(self) -> None:
        """Close abortively: the peer sees a connection reset, not an orderly end."""
        transport = self._transport
        if transport is None or self._closing:
            return
        self._flush()
        self._closing = True
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            except OSError:
                pass
        transport.abort()

    # -- parsing -------------------------------------------------------------

    def _drain(self) -> None:
        """Answer every complete request in the buffer, in order."""
        try:
            while not self._closing and not self._busy and not self._paused:
                request = self._parse()
                if request is None:
                    return
                try:
                    outcome = self._app(request)
                except Exception as exc:  # the app answers errors itself; this is a last resort
                    if self._on_error is not None:
                        self._on_error(exc)
                    outcome = (500, [("Content-Type", "text/plain")], b"internal error\n")
                self._deliver(outcome)
            if self._closing or self._busy:
                return
            if not self._keep_alive and self._state == _HEAD and not self._buffer:
                self.close()
        finally:
            # Pipelined answers leave in one write (one system call), not one each;
            # with other connections about, answers wait for the end of the loop
            # iteration (see WriteCoalescer).
            if self._out:
                coalescer = self._coalescer
                if coalescer is not None and len(self._connections) > 1:
                    coalescer.add(self)
                else:
                    self._flush()

    def _flush(self) -> None:
        out = self._out
        if out:
            self._out = []
            transport = self._transport
            if transport is not None and not self._closing:
                transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _deliver(self, outcome: Outcome) -> None:
        if isinstance(outcome, tuple):
            self._write(outcome)
        elif isinstance(outcome, Delayed):
            self._busy = True
            loop = asyncio.get_running_loop()
            loop.call_later(outcome.seconds, self._resume, outcome.then)
        else:
            self.reset()

    def _resume(self, then: Callable[[], Response | _Reset]) -> None:
        if self._closing:
            return
        try:
            outcome: Outcome = then()
        except Exception as exc:
            if self._on_error is not None:
                self._on_error(exc)
            outcome = (500, [("Content-Type", "text/plain")], b"internal error\n")
        self._busy = False
        self._deliver(outcome)
        if not self._busy:
            self._drain()
        self._flush()

    def _write(self, response: Response) -> None:
        status, headers, body = response
        transport = self._transport
        if transport is None or self._closing:
            return
        keep = self._keep_alive
        fields = "".join([f"{name}: {value}\r\n" for name, value in headers])
        head = (
            f"{fields}Content-Length: {len(body)}\r\n\r\n"
            if keep
            else f"{fields}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        out = self._out
        out.append(_status_line(status))
        out.append(_date_line())
        out.append(head.encode("latin-1"))
        if self._method != "HEAD":
            out.append(body)
        if not keep:
            self.close()

    def _fail(self, status: int, message: str) -> None:
        """Answer a request that cannot be parsed, and close."""
        self._keep_alive = False
        self._method = ""
        self._write((status, [("Content-Type", "text/plain; charset=utf-8")], message.encode()))
        self.close()

    def _parse(self) -> Request | None:
        buffer = self._buffer
        while True:
            state = self._state
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD_BYTES:
                        self._fail(431, "request header too large\n")
                    return None
                if end == 0:
                    # Tolerate stray CRLFs between requests (RFC 9112 section 2.2).
                    del buffer[:2]
                    continue
                head = buffer[:end].decode("latin-1")
                del buffer[: end + 4]
                if not self._parse_head(head):
                    return None
                if self._state == _HEAD:
                    return self._finish(b"")
                continue
            if state == _BODY:
                if len(buffer) < self._remaining:
                    self._maybe_continue()
                    return None
                size = self._remaining
                if len(buffer) == size:
                    body = bytes(buffer)
                    buffer.clear()
                else:
                    body = bytes(buffer[:size])
                    del buffer[:size]
                self._state = _HEAD
                return self._finish(body)
            if state == _CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > 4096:
                        self._fail(400, "chunk size line too long\n")
                    else:
                        self._maybe_continue()
                    return None
                line = bytes(buffer[:end]).split(b";", 1)[0].strip()
                del buffer[: end + 2]
                try:
                    size = int(line, 16)
                    if size < 0 or not line.isalnum():
                        raise ValueError(line)
                except ValueError:
                    self._fail(400, "malformed chunk size\n")
                    return None
                if size == 0:
                    self._state = _TRAILERS
                    continue
                self._chunked_size += size
                if self._chunked_size > self._max_body:
                    self._fail(413, "request body too large\n")
                    return None
                self._remaining = size
                self._state = _CHUNK_DATA
                continue
            if state == _CHUNK_DATA:
                if len(buffer) < self._remaining:
                    return None
                size = self._remaining
                self._chunks.append(bytes(buffer[:size]))
                del buffer[:size]
                self._state = _CHUNK_CRLF
                continue
            if state == _CHUNK_CRLF:
                if len(buffer) < 2:
                    return None
                if buffer[:2] != b"\r\n":
                    self._fail(400, "chunk not followed by CRLF\n")
                    return None
                del buffer[:2]
                self._state = _CHUNK_SIZE
                continue
            # _TRAILERS: skip trailer fields up to the empty line.
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    self._fail(431, "trailers too large\n")
                return None
            del buffer[: end + 2]
            if end == 0:
                body = b"".join(self._chunks)
                self._chunks = []
                self._state = _HEAD
                return self._finish(body)

    def _maybe_continue(self) -> None:
        if (
            not self._continue_sent
            and self._headers.get("expect", "").lower() == "100-continue"
            and self._transport is not None
        ):
            self._continue_sent = True
            self._out.append(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _parse_head(self, text: str) -> bool:
        try:
            request_line, *lines = text.split("\r\n")
            method, target, version = request_line.split(" ")
        except ValueError:
            self._fail(400, "malformed request line\n")
            return False
        if version not in ("HTTP/1.1", "HTTP/1.0") or not target:
            self._fail(505 if version.startswith("HTTP/") else 400, "unsupported HTTP version\n")
            return False
        if len(lines) > MAX_HEADERS:
            self._fail(431, "too many header fields\n")
            return False
        headers: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(":")
            # No whitespace before the colon or at the start (RFC 9112 section 5.1):
            # both are request-smuggling vectors.
            if not colon or not name or name[-1] in " \t" or name[0] in " \t":
                self._fail(400, "malformed header field\n")
                return False
            name = name.lower()
            value = value.strip(" \t")
            if name in headers:
                if name in ("content-length", "host"):
                    if headers[name] != value:
                        self._fail(400, f"conflicting {name} header fields\n")
                        return False
                    continue
                headers[name] = f"{headers[name]}, {value}"
            else:
                headers[name] = value
        self._method = method
        self._target = target
        self._headers = headers
        self._continue_sent = False
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            self._keep_alive = "close" not in connection
        else:
            self._keep_alive = "keep-alive" in connection
        encoding = headers.get("transfer-encoding")
        if encoding is not None:
            if encoding.lower() != "chunked" or "content-length" in headers:
                self._fail(400, "unsupported transfer encoding\n")
                return False
            self._chunks = []
            self._chunked_size = 0
            self._state = _CHUNK_SIZE
            return True
        length_text = headers.get("content-length")
        if length_text is None:
            self._state = _HEAD
            return True
        if not length_text.isdigit() or not length_text.isascii():
            self._fail(400, "malformed content-length\n")
            return False
        length = int(length_text)
        if length > self._max_body:
            self._fail(413, "request body too large\n")
            return False
        self._remaining = length
        self._state = _BODY if length else _HEAD
        return True

    def _finish(self, body: bytes) -> Request:
        return Request(self._method, self._target, self._headers, body)
