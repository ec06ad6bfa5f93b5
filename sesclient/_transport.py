"""A fast HTTP/1.1 transport for :class:`httpx.AsyncClient`.

httpx's default async transport (httpcore) scans its whole connection pool for every
request, so client CPU per request grows with the number of requests in flight.  The
bulk sender keeps hundreds of requests in flight, so this module provides
:class:`AsyncHTTP11Transport`: an :class:`httpx.AsyncBaseTransport` built on
:class:`asyncio.Protocol` connections, a constant-time idle-connection pool and the
strict parser in :mod:`sesclient._http11`.  Its cost per request does not depend on
concurrency.

Failure semantics matter more than speed here, because the SDK turns transport errors
into "failed, safe to retry" or "sent, outcome unknown":

* :class:`httpx.ConnectError`, :class:`httpx.ConnectTimeout`, :class:`httpx.PoolTimeout`
  and :class:`httpx.ProxyError` are raised only when no byte of the request was written.
* Anything that fails after the request was written raises
  :class:`httpx.RemoteProtocolError`, :class:`httpx.ReadError`,
  :class:`httpx.ReadTimeout`, :class:`httpx.WriteError` or :class:`httpx.WriteTimeout`.
* A reused keep-alive connection that turns out to be dead is retried once,
  transparently, on a new connection, in two cases only: the connection broke before any
  byte of the request could be written (any method), or the server closed it without
  sending a single response byte and the method is idempotent (GET, HEAD, OPTIONS,
  TRACE, PUT, DELETE).  That is the rule of Go's net/http, urllib3 and aiohttp.  A POST
  whose bytes were written is never replayed: it may have been processed.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import TYPE_CHECKING, Any

import httpx

from sesclient._http11 import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADERS,
    ResponseParser,
    serialize_request_head,
)

if TYPE_CHECKING:
    import ssl

__all__ = ["AsyncHTTP11Transport"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_DEFAULT_PORTS = {b"http": 80, b"https": 443}
_NO_TIMEOUTS: dict[str, float | None] = {}

# Connection states.
_CONNECTING = 0
_ACTIVE = 1
_IDLE = 2
_CLOSED = 3


class _Disconnected(Exception):
    """The peer closed or reset the connection before sending any response byte."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__("Server disconnected without sending a response.")
        self.cause = cause


class _NothingWritten(Exception):
    """The connection was found broken before any byte of the request was written."""


class _Origin:
    """Where requests for one (scheme, host, port) go, and that origin's idle pool."""

    __slots__ = (
        "connect_host",
        "connect_port",
        "forward",
        "idle",
        "proxy_headers",
        "ssl_context",
        "tls_hostname",
        "tunnel_request",
    )

    def __init__(self) -> None:
        # Most recently released connection at the right: pop() is LIFO (the warmest
        # connection), and the oldest, first to expire, sit at the left.
        self.idle: deque[_Connection] = deque()
        self.connect_host = ""
        self.connect_port = 0
        self.ssl_context: ssl.SSLContext | None = None
        self.tls_hostname: str | None = None
        # Set when requests go through an HTTP proxy in absolute-form.
        self.forward = False
        self.proxy_headers: list[tuple[bytes, bytes]] = []
        # The CONNECT request to send to a proxy before TLS, if tunnelling.
        self.tunnel_request: bytes | None = None


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: feeds received bytes to its parser, one request at a time."""

    __slots__ = (
        "drain_waiter",
        "eof",
        "last_read",
        "loop",
        "lost",
        "origin",
        "owner",
        "parser",
        "paused",
        "read_timeout",
        "requests",
        "since",
        "state",
        "timer",
        "transport",
        "waiter",
        "write_timer",
    )

    def __init__(self, owner: AsyncHTTP11Transport, origin: _Origin) -> None:
        self.owner = owner
        self.origin = origin
        self.loop = owner._loop
        self.transport: Any = None
        self.parser = ResponseParser(
            max_header_bytes=owner._max_header_bytes,
            max_headers=owner._max_headers,
            max_body_bytes=owner._max_body_bytes,
        )
        self.waiter: asyncio.Future[None] | None = None
        self.drain_waiter: asyncio.Future[None] | None = None
        self.state = _CONNECTING
        self.eof = False
        self.lost = False
        self.paused = False
        self.requests = 0
        self.since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.write_timer: asyncio.TimerHandle | None = None
        self.read_timeout = 0.0
        self.last_read = 0.0

    # -- asyncio.Protocol callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            # Bytes nobody asked for: the connection is out of sync, never reuse it.
            self.eof = True
            self.transport.abort()
            return
        if self.timer is not None:
            self.last_read = self.loop.time()
        try:
            done = self.parser.feed(data)
        except httpx.RemoteProtocolError as exc:
            waiter.set_exception(exc)
            self.transport.abort()
            return
        if done:
            waiter.set_result(None)

    def eof_received(self) -> bool:
        self.eof = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            parser = self.parser
            if not parser.received_any:
                waiter.set_exception(_Disconnected(None))
            else:
                try:
                    parser.feed_eof()
                except httpx.RemoteProtocolError as exc:
                    waiter.set_exception(exc)
                else:
                    waiter.set_result(None)
        elif self.state == _IDLE:
            self.owner._idle_connection_lost(self)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if not self.parser.received_any:
                waiter.set_exception(_Disconnected(exc))
            elif exc is None:
                try:
                    self.parser.feed_eof()
                except httpx.RemoteProtocolError as error:
                    waiter.set_exception(error)
                else:
                    waiter.set_result(None)
            else:
                waiter.set_exception(httpx.ReadError(str(exc) or type(exc).__name__))
        drain = self.drain_waiter
        if drain is not None and not drain.done():
            drain.set_exception(httpx.WriteError(str(exc or "connection closed")))
        if self.state == _IDLE:
            self.owner._idle_connection_lost(self)
        owner = self.owner
        owner._all.discard(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        drain = self.drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    # -- used by the transport -----------------------------------------------------------

    def usable(self) -> bool:
        return not self.eof and not self.transport.is_closing()

    def send(
        self, data: bytes, *, no_body: bool, read_timeout: float | None, tunnel: bool = False
    ) -> asyncio.Future[None]:
        """Write one request and return the future that completes with its response.

        Raises :class:`_NothingWritten` if the connection is seen to be broken before any
        byte of ``data`` reached the socket.
        """
        transport = self.transport
        if self.eof or transport.is_closing():
            raise _NothingWritten
        self.parser.reset(no_body=no_body, tunnel=tunnel)
        waiter = self.waiter = self.loop.create_future()
        plain = self.origin.ssl_context is None and transport.get_write_buffer_size() == 0
        transport.write(data)
        if plain and transport.is_closing():
            # A plain socket transport tries send() inside write(); if that raised, it
            # is closing now and not a byte went out.
            self.waiter = None
            raise _NothingWritten
        if read_timeout is not None and not self.paused:
            self.arm_read_timer(read_timeout)
        return waiter

    def arm_read_timer(self, read_timeout: float | None) -> None:
        """Start the read timeout; it runs only once the request is fully handed over."""
        if read_timeout is not None and self.timer is None:
            self.read_timeout = read_timeout
            self.last_read = self.loop.time()
            self.timer = self.loop.call_at(self.last_read + read_timeout, self._read_timer)

    def _read_timer(self) -> None:
        # Fires at most once per read_timeout; re-arms itself while bytes keep coming, so
        # data_received only records a timestamp instead of rescheduling a timer.
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.timer = None
            return
        deadline = self.last_read + self.read_timeout
        if self.loop.time() >= deadline:
            self.timer = None
            waiter.set_exception(httpx.ReadTimeout("Timed out while receiving data."))
            self.transport.abort()
        else:
            self.timer = self.loop.call_at(deadline, self._read_timer)

    def finish(self) -> None:
        """Forget the completed exchange's waiter and timer."""
        self.waiter = None
        timer = self.timer
        if timer is not None:
            timer.cancel()
            self.timer = None
        self.requests += 1

    async def drain(self, timeout: float | None) -> None:
        """Wait until the transport's write buffer drops below its low-water mark.

        The write timeout bounds each stall, not the whole upload, as httpcore's does
        for each socket write: a large body that keeps moving never times out.
        """
        if not self.paused:
            return
        if self.lost:
            raise httpx.WriteError("connection closed while writing the request")
        drain = self.drain_waiter = self.loop.create_future()
        if timeout is not None:
            size = self.transport.get_write_buffer_size()
            self.write_timer = self.loop.call_later(timeout, self._write_timer, timeout, size)
        try:
            await drain
        finally:
            self.drain_waiter = None
            if self.write_timer is not None:
                self.write_timer.cancel()
                self.write_timer = None

    def _write_timer(self, timeout: float, last_size: int) -> None:
        drain = self.drain_waiter
        if drain is None or drain.done():
            self.write_timer = None
            return
        size = self.transport.get_write_buffer_size()
        if size < last_size:
            self.write_timer = self.loop.call_later(timeout, self._write_timer, timeout, size)
        else:
            self.write_timer = None
            drain.set_exception(httpx.WriteTimeout("Timed out while sending the request."))

    def close(self) -> None:
        self.state = _CLOSED
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            # Nobody will await it any more; cancelling keeps asyncio from logging an
            # unretrieved exception when connection_lost fires.
            waiter.cancel()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.abort()


def _expire_pool(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(httpx.PoolTimeout("Timed out waiting for a connection from the pool."))


class AsyncHTTP11Transport(httpx.AsyncBaseTransport):
    """An HTTP/1.1 transport for :class:`httpx.AsyncClient` whose cost per request is flat.

    Use it as ``httpx.AsyncClient(transport=AsyncHTTP11Transport(...))``.  It keeps one
    LIFO pool of idle keep-alive connections per (scheme, host, port), limited by
    ``limits`` (an :class:`httpx.Limits`: ``max_connections`` in total, with a FIFO wait
    queue when all are busy; ``max_keepalive_connections`` idle ones kept;
    ``keepalive_expiry`` seconds of idleness before one is dropped).  Timeouts come from
    the httpx request as usual.  Response bodies are read in full, up to
    ``max_response_bytes``; streaming very large downloads is not what this is for.

    ``verify`` is passed to :func:`httpx.create_ssl_context` (``True`` uses certifi or
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``; an :class:`ssl.SSLContext`, e.g. from truststore,
    is used as given).  ``proxy`` is an ``http://`` proxy URL (CONNECT tunnels for
    ``https://`` targets, absolute-form requests for ``http://`` ones); without it and
    with ``trust_env``, ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` apply,
    as they would for httpx's own transport.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits | None = None,
        proxy: str | httpx.URL | httpx.Proxy | None = None,
        trust_env: bool = True,
        max_response_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        limits = limits if limits is not None else httpx.Limits()
        self._max_connections = limits.max_connections
        self._max_keepalive = limits.max_keepalive_connections
        self._keepalive_expiry = limits.keepalive_expiry
        self._verify = verify
        self._trust_env = trust_env
        self._ssl_context: ssl.SSLContext | None = None
        self._max_body_bytes = max_response_bytes
        self._max_header_bytes = max_header_bytes
        self._max_headers = max_headers
        self._proxy = _as_proxy(proxy) if proxy is not None else None
        self._env_proxies: dict[str, str] = {}
        if proxy is None and trust_env:
            self._env_proxies = _environment_proxies()
            for scheme in ("http", "https", "all"):
                if self._env_proxies.get(scheme):
                    _as_proxy(self._env_proxies[scheme])  # reject unsupported ones now
        self._origins: dict[tuple[bytes, bytes, int | None], _Origin] = {}
        self._loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._n_connections = 0  # connections holding a slot: connecting, busy or idle
        self._n_idle = 0
        self._waiters: deque[tuple[_Origin, asyncio.Future[_Connection | None]]] = deque()
        self._all: set[_Connection] = set()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_connections={self._max_connections}, "
            f"connections={self._n_connections}, idle={self._n_idle})"
        )

    # -- the request path ----------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("Cannot send a request: the transport has been closed.")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None:
                raise RuntimeError(
                    "AsyncHTTP11Transport is bound to the event loop it was first used in; "
                    "make one transport per event loop."
                )
            self._loop = loop
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        origin = self._origins.get(key)
        if origin is None:
            origin = self._new_origin(url, key)
        timeouts = request.extensions.get("timeout") or _NO_TIMEOUTS
        method = request.method
        data, close_after = await self._encode(request, origin)
        no_body = method == "HEAD"
        read_timeout = timeouts.get("read")

        conn = self._pop_idle(origin, loop)
        if conn is None:
            conn = await self._acquire(origin, timeouts)
        retried = False
        # Once an attempt was written, no later failure may read as "nothing was sent".
        sent_error: httpx.TransportError | None = None
        while True:
            try:
                fut = conn.send(data, no_body=no_body, read_timeout=read_timeout)
                if conn.paused:
                    await conn.drain(timeouts.get("write"))
                    conn.arm_read_timer(read_timeout)
                await fut
                break
            except _NothingWritten:
                # Nothing went out, so any method may be retried.  A fresh connection
                # that breaks before the first byte is a connect failure.
                if retried or conn.requests == 0:
                    self._discard(conn)
                    if sent_error is not None:
                        raise sent_error from None
                    raise httpx.ConnectError(
                        "Connection closed before the request could be written."
                    ) from None
                retried = True
                conn = await self._replace(conn, origin, timeouts, None)
            except _Disconnected as exc:
                # Closed before any response byte: on a reused connection that is the
                # keep-alive race (the server timed the connection out as we sent), but
                # the server may also have crashed while processing.  Replay only what
                # is safe to run twice.
                error: httpx.TransportError
                if exc.cause is None:
                    error = httpx.RemoteProtocolError(str(exc))
                else:
                    error = httpx.ReadError(str(exc.cause) or type(exc.cause).__name__)
                if retried or conn.requests == 0 or method not in _IDEMPOTENT:
                    self._discard(conn)
                    raise error from None
                retried = True
                sent_error = error
                conn = await self._replace(conn, origin, timeouts, error)
            except BaseException:
                self._discard(conn)
                raise

        conn.finish()
        parser = conn.parser
        response = httpx.Response(
            parser.status_code,
            headers=parser.headers,
            stream=httpx.ByteStream(parser.body),
            extensions={"http_version": parser.http_version, "reason_phrase": parser.reason},
        )
        if parser.keep_alive and not close_after and not conn.eof:
            self._release(conn)
        else:
            self._discard(conn)
        return response

    async def _encode(self, request: httpx.Request, origin: _Origin) -> tuple[bytes, bool]:
        """Serialize the whole request; return the bytes and whether it asks to close."""
        url = request.url
        try:
            method = request.method.encode("ascii")
        except UnicodeEncodeError:
            raise httpx.LocalProtocolError("invalid HTTP method") from None
        if origin.forward:
            target = url.raw_scheme + b"://" + url.netloc + url.raw_path
        else:
            target = url.raw_path
        headers = request.headers.raw
        if origin.proxy_headers:
            headers += origin.proxy_headers
        close_after = False
        for name, value in headers:
            if len(name) == 10 and name.lower() == b"connection" and b"close" in value.lower():
                close_after = True
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await _read_stream(request.stream)
            has_te = "transfer-encoding" in request.headers
            if has_te:
                # httpx marks a stream of unknown length as chunked; it has been read in
                # full, so send it as one chunk so that it can be replayed if needed.
                body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
            elif "content-length" not in request.headers and (
                body or request.method in ("POST", "PUT", "PATCH")
            ):
                headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        head = serialize_request_head(method, target, headers)
        return (head + body if body else head), close_after

    # -- the pool ------------------------------------------------------------------------

    def _pop_idle(self, origin: _Origin, loop: asyncio.AbstractEventLoop) -> _Connection | None:
        idle = origin.idle
        if not idle:
            return None
        expiry = self._keepalive_expiry
        now = loop.time()
        while idle:
            conn = idle.pop()
            self._n_idle -= 1
            conn.state = _ACTIVE
            if conn.usable() and (expiry is None or now - conn.since < expiry):
                return conn
            self._discard(conn)
        return None

    async def _acquire(self, origin: _Origin, timeouts: dict[str, float | None]) -> _Connection:
        """Get a slot (or a handed-over connection) and return a connection for origin."""
        limit = self._max_connections
        if limit is None or self._n_connections < limit:
            self._n_connections += 1
        elif not self._evict_idle():
            handed = await self._wait_for_slot(origin, timeouts.get("pool"))
            if handed is not None:
                if handed.usable():
                    return handed
                handed.close()  # keeps its slot for the new connection below
        return await self._connect(origin, timeouts)

    def _evict_idle(self) -> bool:
        """Close the oldest idle connection of any origin, passing its slot on."""
        if not self._n_idle:
            return False
        for origin in self._origins.values():
            if origin.idle:
                conn = origin.idle.popleft()
                self._n_idle -= 1
                conn.close()
                return True
        return False

    async def _wait_for_slot(self, origin: _Origin, timeout: float | None) -> _Connection | None:
        loop = self._loop
        fut: asyncio.Future[_Connection | None] = loop.create_future()
        self._waiters.append((origin, fut))
        handle = loop.call_later(timeout, _expire_pool, fut) if timeout is not None else None
        try:
            return await fut
        except asyncio.CancelledError:
            # Handed a slot or connection just as we were cancelled: pass it on.
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                handed = fut.result()
                if handed is None:
                    self._release_slot()
                else:
                    self._release(handed)
            raise
        finally:
            if handle is not None:
                handle.cancel()

    async def _connect(self, origin: _Origin, timeouts: dict[str, float | None]) -> _Connection:
        """Open a connection in a slot the caller holds; free the slot if that fails."""
        try:
            conn = await asyncio.wait_for(self._open(origin), timeouts.get("connect"))
        except (asyncio.TimeoutError, TimeoutError):
            self._release_slot()
            raise httpx.ConnectTimeout("Timed out while connecting.") from None
        except httpx.TransportError:
            self._release_slot()
            raise
        except OSError as exc:  # includes ssl.SSLError and socket.gaierror
            self._release_slot()
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        except BaseException:
            self._release_slot()
            raise
        if self._closed:
            conn.close()
            self._release_slot()
            raise RuntimeError("Cannot send a request: the transport has been closed.")
        conn.state = _ACTIVE
        return conn

    async def _replace(
        self,
        conn: _Connection,
        origin: _Origin,
        timeouts: dict[str, float | None],
        sent_error: httpx.TransportError | None,
    ) -> _Connection:
        """Swap a dead reused connection for a new one in the same slot."""
        conn.close()
        self._all.discard(conn)
        try:
            return await self._connect(origin, timeouts)
        except httpx.TransportError as exc:
            if sent_error is None:
                raise
            # The first attempt was written: a connect failure now must not read as
            # "nothing was sent".
            raise sent_error from exc

    async def _open(self, origin: _Origin) -> _Connection:
        loop = self._loop

        def factory() -> _Connection:
            return _Connection(self, origin)

        if origin.tunnel_request is None:
            _, conn = await loop.create_connection(
                factory,
                origin.connect_host,
                origin.connect_port,
                ssl=origin.ssl_context,
                server_hostname=origin.tls_hostname,
            )
            self._all.add(conn)
            return conn
        _, conn = await loop.create_connection(factory, origin.connect_host, origin.connect_port)
        self._all.add(conn)
        try:
            await self._tunnel(conn, origin)
        except BaseException:
            conn.close()
            self._all.discard(conn)
            raise
        return conn

    async def _tunnel(self, conn: _Connection, origin: _Origin) -> None:
        assert origin.tunnel_request is not None
        try:
            await conn.send(origin.tunnel_request, no_body=False, read_timeout=None, tunnel=True)
        except (_NothingWritten, _Disconnected, httpx.TransportError) as exc:
            raise httpx.ProxyError(f"CONNECT to proxy failed: {exc}") from None
        conn.finish()
        conn.requests = 0
        status = conn.parser.status_code
        if not 200 <= status < 300:
            raise httpx.ProxyError(f"Proxy refused CONNECT with status {status}")
        if origin.ssl_context is not None:
            conn.transport = await self._loop.start_tls(
                conn.transport,
                conn,
                origin.ssl_context,
                server_hostname=origin.tls_hostname,
            )

    def _release(self, conn: _Connection) -> None:
        """Return a healthy connection: to the first waiter, else to the idle pool."""
        waiters = self._waiters
        while waiters:
            w_origin, fut = waiters.popleft()
            if fut.done():
                continue
            if w_origin is conn.origin:
                fut.set_result(conn)
            else:
                conn.close()
                fut.set_result(None)  # the slot moves to the waiter
            return
        max_keepalive = self._max_keepalive
        if max_keepalive is not None and self._n_idle >= max_keepalive:
            conn.close()
            self._n_connections -= 1
            return
        now = self._loop.time()
        conn.state = _IDLE
        conn.since = now
        idle = conn.origin.idle
        idle.append(conn)
        self._n_idle += 1
        expiry = self._keepalive_expiry
        if expiry is not None:
            while idle and now - idle[0].since >= expiry:
                old = idle.popleft()
                self._n_idle -= 1
                old.close()
                self._release_slot()

    def _discard(self, conn: _Connection) -> None:
        """Close a connection that may not be reused and free its slot."""
        if conn.state == _CLOSED:
            return
        conn.close()
        self._release_slot()

    def _release_slot(self) -> None:
        waiters = self._waiters
        while waiters:
            _, fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._n_connections -= 1

    def _idle_connection_lost(self, conn: _Connection) -> None:
        try:
            conn.origin.idle.remove(conn)
        except ValueError:
            return
        self._n_idle -= 1
        conn.close()
        self._release_slot()

    # -- origins, TLS and proxies --------------------------------------------------------

    def _new_origin(self, url: httpx.URL, key: tuple[bytes, bytes, int | None]) -> _Origin:
        scheme = url.raw_scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported scheme {url!r}.")
        host = url.raw_host.decode("ascii")
        if not host:
            raise httpx.UnsupportedProtocol(f"Request URL is missing a host {url!r}.")
        port = url.port or _DEFAULT_PORTS[scheme]
        origin = _Origin()
        origin.connect_host = host
        origin.connect_port = port
        if scheme == b"https":
            origin.ssl_context = self._get_ssl_context()
            origin.tls_hostname = host
        proxy = self._proxy_for(scheme.decode("ascii"), host, port)
        if proxy is not None:
            origin.connect_host = proxy.url.host
            origin.connect_port = proxy.url.port or 80
            extra = _proxy_headers(proxy)
            if scheme == b"https":
                raw_host = url.raw_host
                if b":" in raw_host:
                    raw_host = b"[" + raw_host + b"]"  # an IPv6 literal
                authority = b"%s:%d" % (raw_host, port)
                origin.tunnel_request = serialize_request_head(
                    b"CONNECT", authority, [(b"Host", authority), *extra]
                )
            else:
                origin.forward = True
                origin.proxy_headers = extra
        self._origins[key] = origin
        return origin

    def _get_ssl_context(self) -> ssl.SSLContext:
        # Built on first use: loading the CA bundle costs milliseconds at start-up.
        if self._ssl_context is None:
            ctx = httpx.create_ssl_context(verify=self._verify, trust_env=self._trust_env)
            ctx.set_alpn_protocols(["http/1.1"])
            self._ssl_context = ctx
        return self._ssl_context

    def _proxy_for(self, scheme: str, host: str, port: int) -> httpx.Proxy | None:
        if self._proxy is not None:
            return self._proxy
        env = self._env_proxies
        url = env.get(scheme) or env.get("all")
        if not url:
            return None
        import urllib.request

        # Public at run time on every supported Python, but missing from typeshed.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if bypass(host, env):
            return None
        if ":" not in host and bypass(f"{host}:{port}", env):
            return None
        return _as_proxy(url)

    # -- closing -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close every connection; waiting requests fail, later ones raise RuntimeError."""
        self._closed = True
        for origin in self._origins.values():
            origin.idle.clear()
        self._n_idle = 0
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        while self._waiters:
            _, fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(httpx.ConnectError("The transport was closed."))
        # Let the transports run their connection_lost callbacks and close sockets
        # (TLS transports take one extra loop iteration).
        await asyncio.sleep(0)
        await asyncio.sleep(0)


async def _read_stream(stream: Any) -> bytes:
    if hasattr(stream, "__aiter__"):
        return b"".join([chunk async for chunk in stream])
    return b"".join(list(stream))


def _environment_proxies() -> dict[str, str]:
    # urllib.request is heavy to import; only pay for it when a proxy variable is set.
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return {}
    import urllib.request

    return {k: v for k, v in urllib.request.getproxies().items() if v}


def _as_proxy(proxy: str | httpx.URL | httpx.Proxy) -> httpx.Proxy:
    if not isinstance(proxy, httpx.Proxy):
        text = str(proxy)
        proxy = httpx.Proxy(text if "://" in text else f"http://{text}")
    if proxy.url.scheme != "http":
        raise ValueError(
            f"AsyncHTTP11Transport supports http:// proxies only, not {proxy.url.scheme}:// "
            "(pass trust_env=False to ignore proxy environment variables)"
        )
    return proxy


def _proxy_headers(proxy: httpx.Proxy) -> list[tuple[bytes, bytes]]:
    headers = list(proxy.headers.raw)
    raw_auth = proxy.raw_auth
    if raw_auth is not None:
        import base64

        token = base64.b64encode(raw_auth[0] + b":" + raw_auth[1])
        headers.append((b"Proxy-Authorization", b"Basic " + token))
    return headers
