"""The strict HTTP/1.1 response parser and request serializer, including a seeded fuzzer."""

from __future__ import annotations

import random

import httpx
import pytest

from sesclient._http11 import ResponseParser, serialize_request_head

SES_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 39\r\n"
    b"Connection: keep-alive\r\n"
    b"x-amzn-RequestId: 2c2a6e8e-7c53-4d3e-9c3e-1d0b4c0a1f2e\r\n"
    b"\r\n"
    b'{"MessageId":"0100018f-aaaa-bbbb-cccc"}'
)
CHUNKED_RESPONSE = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"x-amzn-ErrorType: MessageRejected:http://internal.amazon.com/\r\n"
    b"\r\n"
    b'7;a=b\r\n{"messa\r\n'
    b'10\r\nge":"Email addre\r\n'
    b'f; q="x;y" ; z\r\nss is not verif\r\n'
    b'3\r\nied\r\n2\r\n"}\r\n'
    b"0\r\nX-Trailer: done\r\nX-Other: 1\r\n\r\n"
)
UNTIL_CLOSE_RESPONSE = b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody until close"


def parse(data: bytes, *, eof: bool = False, **kwargs: object) -> ResponseParser:
    parser = ResponseParser(**kwargs)  # type: ignore[arg-type]
    done = parser.feed(data)
    if eof:
        done = parser.feed_eof()
    assert done
    return parser


def test_ses_response() -> None:
    p = parse(SES_RESPONSE)
    assert (p.status_code, p.reason, p.http_version) == (200, b"OK", b"HTTP/1.1")
    assert p.headers[4] == (b"x-amzn-RequestId", b"2c2a6e8e-7c53-4d3e-9c3e-1d0b4c0a1f2e")
    assert p.body == b'{"MessageId":"0100018f-aaaa-bbbb-cccc"}'
    assert len(p.body) == 39
    assert p.keep_alive


def test_chunked_with_extensions_and_trailers() -> None:
    p = parse(CHUNKED_RESPONSE)
    assert p.status_code == 400
    assert p.body == b'{"message":"Email address is not verified"}'
    assert p.trailers == [(b"X-Trailer", b"done"), (b"X-Other", b"1")]
    assert p.keep_alive


def test_until_close() -> None:
    parser = ResponseParser()
    assert not parser.feed(UNTIL_CLOSE_RESPONSE)
    assert parser.feed_eof()
    assert parser.body == b"body until close"
    assert not parser.keep_alive


def test_byte_by_byte_equals_one_shot() -> None:
    for data, eof in (
        (SES_RESPONSE, False),
        (CHUNKED_RESPONSE, False),
        (UNTIL_CLOSE_RESPONSE, True),
    ):
        whole = parse(data, eof=eof)
        parser = ResponseParser()
        done = False
        for i in range(len(data)):
            assert not done
            done = parser.feed(data[i : i + 1])
        if eof:
            done = parser.feed_eof()
        assert done
        assert snapshot(parser) == snapshot(whole)


def test_reset_reuses_the_parser() -> None:
    parser = ResponseParser()
    for data in (SES_RESPONSE, CHUNKED_RESPONSE, SES_RESPONSE):
        parser.reset()
        assert parser.feed(data)
    assert parser.status_code == 200
    assert parser.trailers == []


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n", True),
    ],
)
def test_keep_alive_rules(head: bytes, keep_alive: bool) -> None:
    assert parse(head + b"\r\n").keep_alive is keep_alive


def test_no_body_for_head_204_304_and_reason_forms() -> None:
    parser = ResponseParser()
    parser.reset(no_body=True)
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
    assert parser.body == b""
    assert parse(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n").body == b""
    assert parse(b"HTTP/1.1 304 Not Modified\r\n\r\n").status_code == 304
    assert parse(b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").reason == b""
    assert parse(b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").reason == b""
    assert parse(b"HTTP/1.1 404 Not\tFound \xe9\r\nContent-Length: 0\r\n\r\n").reason == (
        b"Not\tFound \xe9"
    )


def test_identical_content_length_list_is_accepted() -> None:
    p = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok")
    assert p.body == b"ok"


def test_interim_responses_are_skipped() -> None:
    p = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert p.status_code == 201


def test_connect_tunnel_response() -> None:
    parser = ResponseParser()
    parser.reset(tunnel=True)
    assert parser.feed(b"HTTP/1.1 200 Connection established\r\n\r\n")
    parser.reset(tunnel=True)
    assert parser.feed(b"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\nno")
    assert parser.status_code == 407


def test_trailing_bytes_make_connection_unreusable() -> None:
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
    assert parser.body == b"ok"
    assert not parser.keep_alive


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x7f\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n: empty\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX : spaced\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n continued\r\n\r\n",
        b"HTTP/1.1 099 Low\r\n\r\n",
        b"HTTP/1.1 600 High\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.2 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n -1\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n" * 17 + b"HTTP/1.1 200 OK\r\n\r\n",
        b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n"[:-2] + b"\x00\r\n\r\n",
    ],
)
def test_malformed_input_raises_remote_protocol_error(data: bytes) -> None:
    parser = ResponseParser()
    with pytest.raises(httpx.RemoteProtocolError):
        parser.feed(data)
        parser.feed_eof()


def test_limits() -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="exceeds 100 bytes"):
        ResponseParser(max_header_bytes=100).feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200)
    with pytest.raises(httpx.RemoteProtocolError, match="too many header fields"):
        parse(b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 4 + b"\r\n", max_headers=3)
    with pytest.raises(httpx.RemoteProtocolError, match="body exceeds 10 bytes"):
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", max_body_bytes=10)
    with pytest.raises(httpx.RemoteProtocolError, match="body exceeds 10 bytes"):
        parse(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 11, eof=True, max_body_bytes=10)
    with pytest.raises(httpx.RemoteProtocolError, match="chunk size line too long"):
        ResponseParser().feed(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"e" * 5000
        )
    with pytest.raises(httpx.RemoteProtocolError, match="trailer section too large"):
        ResponseParser(max_header_bytes=200).feed(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + b"t" * 300
        )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "without sending a response"),
        (b"HTTP/1.1 200 OK\r\n", "response head"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", "complete message body"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "complete message"),
    ],
)
def test_early_eof(data: bytes, message: str) -> None:
    parser = ResponseParser()
    parser.feed(data)
    assert parser.received_any is bool(data)
    with pytest.raises(httpx.RemoteProtocolError, match=message):
        parser.feed_eof()


# -- request serialization ------------------------------------------------------------------


def test_serialize_request_head() -> None:
    head = serialize_request_head(
        b"POST", b"/v2/email/outbound-emails", [(b"Host", b"email.x"), (b"Content-Length", b"2")]
    )
    assert head == (
        b"POST /v2/email/outbound-emails HTTP/1.1\r\nHost: email.x\r\nContent-Length: 2\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        (b"GET", b"/", [(b"X", b"a\r\nInjected: 1")]),
        (b"GET", b"/", [(b"X", b"a\nb")]),
        (b"GET", b"/", [(b"X", b"a\x00b")]),
        (b"GET", b"/", [(b"X Y", b"a")]),
        (b"GET", b"/", [(b"X:Y", b"a")]),
        (b"GET", b"/", [(b"", b"a")]),
        (b"GET", b"/a b", []),
        (b"GET", b"/a\r\n", []),
        (b"GET", b"", []),
        (b"G T", b"/", []),
        (b"", b"/", []),
    ],
)
def test_serialize_rejects_framing_breakers(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    with pytest.raises(httpx.LocalProtocolError):
        serialize_request_head(method, target, headers)


# -- fuzzing ------------------------------------------------------------------------------------


def snapshot(p: ResponseParser) -> tuple[object, ...]:
    return (p.status_code, p.reason, p.http_version, p.headers, p.body, p.trailers, p.keep_alive)


def run_parser(data: bytes, splits: list[int]) -> tuple[object, ...] | None:
    """Feed data in pieces, then EOF; return the parse, or None for RemoteProtocolError."""
    parser = ResponseParser(max_header_bytes=2048, max_headers=20, max_body_bytes=4096)
    try:
        start = 0
        for end in [*splits, len(data)]:
            if parser.feed(data[start:end]):
                # Completion is final: later bytes only spoil reuse, never the parse.
                result = snapshot(parser)
                parser.feed(data[end:])
                assert snapshot(parser)[:6] == result[:6]
                return snapshot(parser)
            start = end
        assert parser.feed_eof() is True
        return snapshot(parser)
    except httpx.RemoteProtocolError:
        return None


def check_parse(result: tuple[object, ...]) -> None:
    """What any accepted response must look like."""
    status, reason, version, headers, body, trailers, _ = result
    assert isinstance(status, int) and 200 <= status <= 599
    assert version in (b"HTTP/1.1", b"HTTP/1.0")
    assert isinstance(reason, bytes) and b"\r" not in reason and b"\n" not in reason
    assert isinstance(body, bytes) and len(body) <= 4096
    for name, value in [*headers, *trailers]:  # type: ignore[misc]
        assert name and b":" not in name and b" " not in name and b"\r" not in name
        assert b"\r" not in value and b"\n" not in value and value == value.strip(b" \t")


MUTATION_BYTES = b"\r\n \t:;0123456789abcdefxzHTP/.,-\x00\x7f\xff"


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:  # flip a byte
            buf[min(pos, len(buf) - 1)] = rng.choice(MUTATION_BYTES)
        elif op == 1:  # insert
            buf[pos:pos] = bytes(rng.choice(MUTATION_BYTES) for _ in range(rng.randint(1, 3)))
        elif op == 2 and buf:  # delete a run
            del buf[pos : pos + rng.randint(1, 8)]
        elif op == 3:  # truncate
            del buf[pos:]
        elif op == 4:  # duplicate a slice
            end = min(len(buf), pos + rng.randint(1, 40))
            buf[pos:pos] = buf[pos:end]
        else:  # swap in a random number where digits were
            digits = [i for i, b in enumerate(buf) if 48 <= b <= 57]
            if digits:
                i = rng.choice(digits)
                buf[i : i + 1] = str(rng.choice([0, 1, 9, 99, 4097, 10**20])).encode()
    return bytes(buf)


SEEDS = [
    SES_RESPONSE,
    CHUNKED_RESPONSE,
    UNTIL_CLOSE_RESPONSE,
    b"HTTP/1.1 100 Continue\r\n\r\n" + SES_RESPONSE,
    b"HTTP/1.1 204 No Content\r\nx-amzn-RequestId: r\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
]


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_mutated_responses(seed: int) -> None:
    """Mutations parse to something valid or raise RemoteProtocolError, however split."""
    rng = random.Random(seed)
    outcomes = {"parsed": 0, "rejected": 0}
    for _ in range(1000):
        data = mutate(rng, rng.choice(SEEDS))
        one_shot = run_parser(data, [])
        splits = sorted(rng.sample(range(len(data) + 1), min(len(data), rng.randint(1, 6))))
        # Byte boundaries must never change the outcome.
        assert run_parser(data, splits) == one_shot, data
        if one_shot is None:
            outcomes["rejected"] += 1
        else:
            outcomes["parsed"] += 1
            check_parse(one_shot)
    # The fuzzer exercises both sides of the parser, not only its error paths.
    assert outcomes["parsed"] > 100 and outcomes["rejected"] > 100, outcomes


def test_fuzz_random_garbage() -> None:
    rng = random.Random(1234)
    for _ in range(500):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        if rng.random() < 0.5:
            data = b"HTTP/1.1 200 OK\r\n" + data
        splits = sorted(rng.sample(range(len(data) + 1), min(2, len(data) + 1)))
        result = run_parser(data, splits)
        if result is not None:
            check_parse(result)
