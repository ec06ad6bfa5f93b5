"""The local endpoint's HTTP/1.1 handling, over raw sockets on loopback."""

from __future__ import annotations

import socket

import pytest

from sesclient.local import LocalSESThread
from sesclient.sigv4 import sign_request
from sesclient.testing import InboxClient

SENDER = "sender@example.com"
SEND = (
    b"Action=SendEmail&Version=2010-12-01&Source=sender%40example.com"
    b"&Destination.ToAddresses.member.1=to%40example.net"
    b"&Message.Subject.Data=Chunked&Message.Body.Text.Data=body"
)


class Keys:
    def __init__(self, config):
        self.access_key_id = config.access_key_id
        self.secret_access_key = config.secret_access_key
        self.session_token = None


@pytest.fixture(scope="module")
def server():
    with LocalSESThread(verified_identities=(SENDER,), max_body_size=4096) as running:
        yield running


def head_for(server, body, extra=()):
    headers = sign_request(
        "POST",
        server.url + "/",
        {"Content-Type": "application/x-www-form-urlencoded", "Host": f"127.0.0.1:{server.port}"},
        body,
        credentials=Keys(server.config),
        region=server.config.region,
        service="ses",
    )
    lines = ["POST / HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), *extra]
    return ("\r\n".join(lines) + "\r\n").encode()


def read_response(sock):
    """(status line, headers dict, body) of one response; None when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return lines[0], headers, rest[:length]


def connect(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_chunked_request_body(server):
    chunks = [SEND[:10], SEND[10:50], SEND[50:]]
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\nX-T: 1\r\n\r\n"
    with connect(server) as sock:
        head = head_for(server, SEND, ["Transfer-Encoding: chunked"])
        # Deliver the request in small pieces to exercise incremental parsing.
        payload = head + b"\r\n" + body
        for start in range(0, len(payload), 7):
            sock.sendall(payload[start : start + 7])
        status, headers, reply = read_response(sock)
    assert status == "HTTP/1.1 200 OK"
    assert b"<MessageId>" in reply
    assert "date" in headers
    assert InboxClient(server.url).messages(subject="Chunked")


def test_keep_alive_serves_many_requests_on_one_connection(server):
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(head_for(server, SEND, [f"Content-Length: {len(SEND)}"]) + b"\r\n" + SEND)
            status, headers, _ = read_response(sock)
            assert status == "HTTP/1.1 200 OK"
            assert "connection" not in headers
        sock.sendall(
            head_for(server, SEND, [f"Content-Length: {len(SEND)}", "Connection: close"])
            + b"\r\n"
            + SEND
        )
        status, headers, _ = read_response(sock)
        assert headers["connection"] == "close"
        assert sock.recv(10) == b""


def test_expect_100_continue(server):
    with connect(server) as sock:
        sock.sendall(
            head_for(server, SEND, [f"Content-Length: {len(SEND)}", "Expect: 100-continue"])
            + b"\r\n"
        )
        interim = sock.recv(100)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(SEND)
        status, _, body = read_response(sock)
    assert status == "HTTP/1.1 200 OK" and b"MessageId" in body


def test_http_1_0_closes_after_the_answer(server):
    with connect(server) as sock:
        sock.sendall(b"GET /_inbox/api/stats HTTP/1.0\r\n\r\n")
        status, headers, body = read_response(sock)
        assert status.startswith("HTTP/1.1 200")
        assert headers["connection"] == "close"
        assert b"accepted" in body
        assert sock.recv(10) == b""


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", "400"),
        (b"GET / HTTP/2.0\r\n\r\n", "505"),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", "413"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "400"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n", "413"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70000, "431"),
    ],
)
def test_malformed_requests_get_an_error_and_a_close(server, request_bytes, status):
    with connect(server) as sock:
        sock.sendall(request_bytes)
        response = read_response(sock)
        assert response is not None
        assert response[0].split(" ")[1] == status
        assert response[1]["connection"] == "close"
        assert "date" in response[1]
        assert sock.recv(10) == b""
    # The server is still serving.
    assert InboxClient(server.url).stats()["accepted"] >= 0


def test_client_closing_mid_request_does_not_disturb_the_server(server):
    with connect(server) as sock:
        sock.sendall(head_for(server, SEND, [f"Content-Length: {len(SEND)}"]) + b"\r\n" + SEND[:5])
    with connect(server) as sock:
        sock.sendall(b"GET /_inbox/api/stats HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock)[0] == "HTTP/1.1 200 OK"
