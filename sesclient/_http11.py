"""A strict, incremental HTTP/1.1 response parser and request serializer (sans-IO).

This is the wire-format half of :mod:`sesclient._transport`.  It exists so that the
async transport does not depend on ``h11`` (an implementation detail of httpcore that
sesclient may not rely on) and so that parsing a small SES response costs a handful of
C-level byte operations instead of a per-event state machine.

Strictness is the point: anything that is not a well-formed HTTP/1.0 or HTTP/1.1
response raises :class:`httpx.RemoteProtocolError`, never another exception type, and
every buffer that the peer can grow is capped.  Framing follows RFC 9112 section 6.3:
HEAD/1xx/204/304 have no body, ``Transfer-Encoding: chunked`` wins, then
``Content-Length``, else the body runs until the connection closes.
"""

from __future__ import annotations

import re

import httpx

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_HEADER_BYTES",
    "ResponseParser",
    "serialize_request_head",
]

DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_HEADERS = 100
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024

# A chunk-size line (hex size plus extensions) has no business being long; the cap
# keeps a peer from streaming an endless line at us.
_MAX_CHUNK_LINE = 4096
# Interim (1xx) responses are skipped, but not forever.
_MAX_INTERIM_RESPONSES = 16
# 16 hex digits overflow no practical length and keep int() on tiny input.
_MAX_SIZE_DIGITS = 16

# Every byte allowed inside a head line: all but the control characters (HTAB is
# allowed). ``block.translate(None, _FIELD_BYTES)`` leaves only the forbidden bytes, so
# a well-formed block of n lines reduces to exactly n - 1 CRLFs: one C-level pass
# catches control characters and any CR or LF that is not part of a line break.
_FIELD_BYTES = bytes(b for b in range(256) if b == 9 or 32 <= b < 127 or b > 127)

_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_HEX_CHARS = b"0123456789abcdefABCDEF"
_DIGITS = b"0123456789"

# Parser states.
_HEAD = 0
_LENGTH = 1
_CHUNK_SIZE = 2
_CHUNK_DATA = 3
_CHUNK_END = 4
_TRAILERS = 5
_UNTIL_CLOSE = 6
_DONE = 7


def _error(message: str) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(message)


def _is_token(value: bytes) -> bool:
    return bool(value) and not value.translate(None, _TOKEN_CHARS)


def _parse_field_lines(lines: list[bytes], out: list[tuple[bytes, bytes]], max_fields: int) -> None:
    """Validate ``name: value`` lines and append them to ``out`` (raw case kept)."""
    if len(lines) + len(out) > max_fields:
        raise _error(f"too many header fields (limit {max_fields})")
    append = out.append
    for line in lines:
        name, sep, value = line.partition(b":")
        # An empty or non-token name also rejects obs-fold continuation lines
        # (leading whitespace) and whitespace before the colon, both of which
        # RFC 9112 tells recipients to reject.
        if not sep or not name or name.translate(None, _TOKEN_CHARS):
            raise _error(f"malformed header line {line[:64]!r}")
        append((name, value.strip(b" \t")))


class ResponseParser:
    """Incremental parser for one HTTP/1.x response at a time.

    Feed it bytes with :meth:`feed` until it returns ``True`` (the final response is
    complete), or call :meth:`feed_eof` when the peer closes.  :meth:`reset` prepares it
    for the next response on the same connection, so one parser serves a connection's
    whole life without reallocation.  The results are plain attributes:
    ``status_code``, ``reason``, ``http_version``, ``headers`` (list of raw
    ``(name, value)`` pairs), ``body``, ``trailers`` and ``keep_alive``.
    """

    __slots__ = (
        "_body_parts",
        "_buf",
        "_head_bytes",
        "_interim",
        "_remaining",
        "_scan_from",
        "_state",
        "body",
        "headers",
        "http_version",
        "keep_alive",
        "max_body_bytes",
        "max_header_bytes",
        "max_headers",
        "no_body",
        "reason",
        "received_any",
        "status_code",
        "trailers",
        "tunnel",
    )

    def __init__(
        self,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_headers: int = DEFAULT_MAX_HEADERS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_body_bytes = max_body_bytes
        self.reset()

    def reset(self, *, no_body: bool = False, tunnel: bool = False) -> None:
        """Prepare for the next response.

        ``no_body`` is for responses to HEAD requests.  ``tunnel`` is for responses to
        CONNECT: a 2xx ends at its head and the connection then belongs to the tunnel.
        """
        self._state = _HEAD
        self._buf = bytearray()
        self._scan_from = 0
        self._head_bytes = 0
        self._interim = 0
        self._remaining = 0
        self._body_parts = bytearray()
        self.no_body = no_body
        self.tunnel = tunnel
        self.received_any = False
        self.status_code = 0
        self.reason = b""
        self.http_version = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.keep_alive = True

    @property
    def complete(self) -> bool:
        """True once the final response has been parsed in full."""
        return self._state == _DONE

    @property
    def awaiting_head(self) -> bool:
        """True while no complete final response head has been parsed."""
        return self._state == _HEAD

    def feed(self, data: bytes) -> bool:
        """Consume ``data``; return True when the response is complete.

        Bytes that arrive after a complete response (the peer cannot legitimately send
        any: requests are not pipelined) mark the connection as not reusable.
        """
        if not data:
            return self._state == _DONE
        self.received_any = True
        if self._state == _DONE:
            self.keep_alive = False
            return True
        self._buf += data
        return self._advance()

    def feed_eof(self) -> bool:
        """Signal that the peer closed; return True if that completed the response.

        Raises :class:`httpx.RemoteProtocolError` if the response is incomplete.
        """
        state = self._state
        self.keep_alive = False
        if state == _DONE:
            return True
        if state == _UNTIL_CLOSE:
            self.body = bytes(self._body_parts)
            self._body_parts = bytearray()
            self._state = _DONE
            return True
        if state == _HEAD:
            if not self.received_any:
                raise _error("Server disconnected without sending a response.")
            raise _error("Server disconnected while sending the response head.")
        raise _error("Server disconnected without sending the complete message body.")

    # -- internals --------------------------------------------------------------------

    def _advance(self) -> bool:
        while True:
            state = self._state
            if state == _HEAD:
                if not self._parse_head():
                    return False
            elif state == _LENGTH:
                buf = self._buf
                need = self._remaining
                if len(buf) < need:
                    self._body_parts += buf
                    self._remaining = need - len(buf)
                    self._buf = bytearray()
                    return False
                if self._body_parts:
                    self._body_parts += buf[:need]
                    self.body = bytes(self._body_parts)
                    self._body_parts = bytearray()
                else:
                    self.body = bytes(buf[:need])
                del buf[:need]
                self._finish()
            elif state == _CHUNK_SIZE:
                if not self._parse_chunk_size():
                    return False
            elif state == _CHUNK_DATA:
                buf = self._buf
                need = self._remaining
                if len(buf) < need:
                    self._body_parts += buf
                    self._remaining = need - len(buf)
                    self._buf = bytearray()
                    return False
                self._body_parts += buf[:need]
                del buf[:need]
                self._state = _CHUNK_END
            elif state == _CHUNK_END:
                buf = self._buf
                if len(buf) < 2:
                    if buf and buf[0] != 13:
                        raise _error("chunk data not followed by CRLF")
                    return False
                if buf[0] != 13 or buf[1] != 10:
                    raise _error("chunk data not followed by CRLF")
                del buf[:2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                if not self._parse_trailers():
                    return False
            elif state == _UNTIL_CLOSE:
                buf = self._buf
                if len(self._body_parts) + len(buf) > self.max_body_bytes:
                    raise _error(f"response body exceeds {self.max_body_bytes} bytes")
                self._body_parts += buf
                self._buf = bytearray()
                return False
            else:
                if self._buf:
                    self.keep_alive = False
                    self._buf = bytearray()
                return True

    def _finish(self) -> None:
        self._state = _DONE
        if self._buf:
            # Unsolicited bytes after the response: the connection is out of sync.
            self.keep_alive = False
            self._buf = bytearray()

    def _parse_head(self) -> bool:
        buf = self._buf
        end = buf.find(b"\r\n\r\n", self._scan_from)
        if end < 0:
            if len(buf) + self._head_bytes > self.max_header_bytes:
                raise _error(f"response head exceeds {self.max_header_bytes} bytes")
            self._scan_from = max(0, len(buf) - 3)
            return False
        self._head_bytes += end + 4
        if self._head_bytes > self.max_header_bytes:
            raise _error(f"response head exceeds {self.max_header_bytes} bytes")
        head = bytes(buf[:end])
        del buf[: end + 4]
        self._scan_from = 0
        lines = head.split(b"\r\n")
        if head.translate(None, _FIELD_BYTES) != b"\r\n" * (len(lines) - 1):
            raise _error("invalid characters in response head")
        status_line = lines[0]
        version = status_line[:8]
        code = status_line[9:12]
        if (
            (version != b"HTTP/1.1" and version != b"HTTP/1.0")
            or status_line[8:9] != b" "
            or len(code) != 3
            or code.translate(None, _DIGITS)
            or code[0] not in b"12345"
            or (len(status_line) > 12 and status_line[12] != 32)
        ):
            raise _error(f"malformed status line {status_line[:64]!r}")
        status = int(code)
        headers: list[tuple[bytes, bytes]] = []
        del lines[0]
        _parse_field_lines(lines, headers, self.max_headers)

        if status < 200:
            if status == 101:
                raise _error("unexpected 101 Switching Protocols")
            self._interim += 1
            if self._interim > _MAX_INTERIM_RESPONSES:
                raise _error("too many interim (1xx) responses")
            return True  # stay in _HEAD for the final response

        self.status_code = status
        self.reason = status_line[13:]
        self.http_version = version
        self.headers = headers
        self._frame(status, version, headers)
        return True

    def _frame(self, status: int, version: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        content_length: int | None = None
        chunked = False
        keep_alive = version == b"HTTP/1.1"
        for name, value in headers:
            if len(name) not in (10, 14, 17):
                continue
            lname = name.lower()
            if lname == b"content-length":
                length = _parse_content_length(value)
                if content_length is not None and content_length != length:
                    raise _error("conflicting Content-Length headers")
                content_length = length
            elif lname == b"transfer-encoding":
                if chunked or value.lower() != b"chunked":
                    raise _error(f"unsupported Transfer-Encoding {value[:64]!r}")
                chunked = True
            elif lname == b"connection":
                for token in value.lower().split(b","):
                    token = token.strip(b" \t")
                    if token == b"close":
                        keep_alive = False
                    elif token == b"keep-alive" and version == b"HTTP/1.0":
                        keep_alive = True
        self.keep_alive = keep_alive

        if self.tunnel and 200 <= status < 300:
            # A successful CONNECT response has no body; what follows is the tunnel.
            self._state = _DONE
            if self._buf:
                raise _error("unexpected bytes after CONNECT response")
            return
        if self.no_body or status == 204 or status == 304:
            self._finish()
            return
        if chunked:
            if content_length is not None:
                # RFC 9112 6.3: both present is a smuggling signature.
                raise _error("both Transfer-Encoding and Content-Length in response")
            if version != b"HTTP/1.1":
                raise _error("Transfer-Encoding in an HTTP/1.0 response")
            self._state = _CHUNK_SIZE
            return
        if content_length is not None:
            if content_length > self.max_body_bytes:
                raise _error(f"response body exceeds {self.max_body_bytes} bytes")
            if content_length == 0:
                self._finish()
                return
            self._remaining = content_length
            self._state = _LENGTH
            return
        self.keep_alive = False
        self._state = _UNTIL_CLOSE

    def _parse_chunk_size(self) -> bool:
        buf = self._buf
        end = buf.find(b"\r\n")
        if end < 0:
            if len(buf) > _MAX_CHUNK_LINE:
                raise _error("chunk size line too long")
            return False
        if end > _MAX_CHUNK_LINE:
            raise _error("chunk size line too long")
        line = bytes(buf[:end])
        del buf[: end + 2]
        if line.translate(None, _FIELD_BYTES):
            raise _error("invalid characters in chunk size line")
        size_part, _, _ext = line.partition(b";")
        size_part = size_part.rstrip(b" \t")
        if (
            not size_part
            or len(size_part) > _MAX_SIZE_DIGITS
            or size_part.translate(None, _HEX_CHARS)
        ):
            raise _error(f"malformed chunk size line {line[:64]!r}")
        size = int(size_part, 16)
        if size == 0:
            self._state = _TRAILERS
            return True
        if len(self._body_parts) + size > self.max_body_bytes:
            raise _error(f"response body exceeds {self.max_body_bytes} bytes")
        self._remaining = size
        self._state = _CHUNK_DATA
        return True

    def _parse_trailers(self) -> bool:
        buf = self._buf
        if buf[:2] == b"\r\n":
            del buf[:2]
            self._complete_chunked()
            return True
        if len(buf) < 2:
            if buf and buf[0] != 13 and len(buf) + self._head_bytes > self.max_header_bytes:
                raise _error("trailer section too large")
            return False
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) + self._head_bytes > self.max_header_bytes:
                raise _error("trailer section too large")
            return False
        self._head_bytes += end + 4
        if self._head_bytes > self.max_header_bytes:
            raise _error("trailer section too large")
        block = bytes(buf[:end])
        del buf[: end + 4]
        lines = block.split(b"\r\n")
        if block.translate(None, _FIELD_BYTES) != b"\r\n" * (len(lines) - 1):
            raise _error("invalid characters in trailer section")
        _parse_field_lines(lines, self.trailers, self.max_headers)
        self._complete_chunked()
        return True

    def _complete_chunked(self) -> None:
        self.body = bytes(self._body_parts)
        self._body_parts = bytearray()
        self._finish()


def _parse_content_length(value: bytes) -> int:
    # RFC 9110 8.6 lets a recipient accept a list of identical values ("5, 5").
    if b"," in value:
        parts = {part.strip(b" \t") for part in value.split(b",")}
        if len(parts) != 1:
            raise _error("conflicting Content-Length values")
        value = parts.pop()
    if not value or len(value) > 18 or value.translate(None, _DIGITS):
        raise _error(f"malformed Content-Length {value[:32]!r}")
    return int(value)


def serialize_request_head(
    method: bytes,
    target: bytes,
    headers: list[tuple[bytes, bytes]],
) -> bytes:
    """Build ``method target HTTP/1.1`` plus header lines and the blank line.

    Raises :class:`httpx.LocalProtocolError` for a method, target or header that would
    corrupt the framing (CR, LF or NUL inside a field, a non-token name).
    """
    if not _is_token(method):
        raise httpx.LocalProtocolError(f"invalid HTTP method {method[:32]!r}")
    if not target or _BAD_TARGET_BYTES.search(target) is not None:
        raise httpx.LocalProtocolError("invalid request target")
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    names = []
    for name, value in headers:
        names.append(name)
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    head = b"".join(parts)
    # One scan for stray CR/LF/NUL: a well-formed head has exactly len(headers) + 2
    # CRLF pairs and no other CR or LF.
    n = len(headers) + 2
    if head.count(b"\r") != n or head.count(b"\n") != n or b"\x00" in head:
        raise httpx.LocalProtocolError("header value contains CR, LF or NUL")
    if names and (b"" in names or not _is_token(b"".join(names))):
        raise httpx.LocalProtocolError("invalid header name")
    return head


# The request target may carry any visible ASCII; httpx has already percent-encoded it.
_BAD_TARGET_BYTES = re.compile(rb"[\x00-\x20\x7f-\xff]")
