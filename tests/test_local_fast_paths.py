"""The local endpoint's fast paths give what the exact paths give.

verify_parsed_request against verify_request, the one-walk Query and REST-JSON
decoders against the exact walk plus validation, and the write coalescer under
many concurrent keep-alive connections.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone

import pytest

from sesclient import _query, _restjson
from sesclient._errors import SESValidationError
from sesclient.local import LocalSESThread
from sesclient.sigv4 import SignatureError, sign_request, verify_parsed_request, verify_request

WHEN = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
SEND_PATH = "/v2/email/outbound-emails"


class Creds:
    access_key_id = KEY
    secret_access_key = SECRET
    session_token = None


def _signed(body=b'{"a":1}', path="/v2/email/outbound-emails", **tamper):
    headers = sign_request(
        "POST",
        f"https://email.us-east-1.amazonaws.com{path}",
        {"Content-Type": "application/json"},
        body,
        credentials=Creds(),
        region="us-east-1",
        service="ses",
        timestamp=WHEN,
    )
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered["host"] = "email.us-east-1.amazonaws.com"
    lowered.update(tamper)
    return lowered


def _outcome(call):
    try:
        scope = call()
    except SignatureError as exc:
        return ("error", exc.code, exc.message, exc.status_code)
    return ("ok", scope.access_key_id, scope.region, scope.service)


@pytest.mark.parametrize(
    ("tamper", "now"),
    [
        ({}, WHEN),
        ({}, WHEN + timedelta(minutes=16)),
        ({}, WHEN - timedelta(minutes=16)),
        ({}, WHEN.replace(tzinfo=None)),
        ({"content-type": "text/plain"}, WHEN),
        ({"x-amz-date": "20150830T123600"}, WHEN),
        ({"x-amz-date": "20150831T123600Z"}, WHEN + timedelta(days=1)),
        ({"authorization": "AWS4-HMAC-SHA256 Credential=x"}, WHEN),
        ({"authorization": "Basic abc"}, WHEN),
        ({"content-type": "application/json  ;  x"}, WHEN),
    ],
)
def test_verify_parsed_request_agrees_with_verify_request(tamper, now):
    headers = _signed(**tamper)
    args = ("POST", "/v2/email/outbound-emails", "", headers, b'{"a":1}')
    general = _outcome(lambda: verify_request(*args, lookup_secret={KEY: SECRET}.get, now=now))
    parsed = _outcome(
        lambda: verify_parsed_request(*args, lookup_secret={KEY: SECRET}.get, now=now)
    )
    assert parsed == general


def _exact_query(body):
    try:
        op, params = _query.decode_query_request(body)
    except SESValidationError as exc:
        return ("error", exc.code, exc.message, exc.field)
    return ("ok", op, repr(params))


@pytest.mark.parametrize(
    "body",
    [
        b"Action=SendEmail&Source=a%40b.c&Destination.ToAddresses.member.1=x%40y.z"
        b"&Message.Subject.Data=Hi%20there&Message.Body.Text.Data=a%2Bb%25",
        b"Action=SendEmail&Source=a%40b.c&Message.Subject.Data=x%26y%3Dz&Message.Body.Text.Data=t",
        b"Action=SendEmail&Source=%C3%A9%40b.c&Message.Subject.Data=x&Message.Body.Text.Data=t",
        b"Action=SendEmail&Source=a&Message.Subject.Data=x",
        b"Action=SendEmail&Source=a&Message.Subject=x&Message.Body.Text.Data=t",
        b"Action=SendEmail&Source=a&Destination.ToAddresses.member.2=x&Message.Subject.Data=x"
        b"&Message.Body.Text.Data=t",
        b"Action=CreateConfigurationSetEventDestination&ConfigurationSetName=c"
        b"&EventDestination.Name=n&EventDestination.MatchingEventTypes.member.1=a%2Bb",
        b"Action=ListIdentities&MaxItems=abc",
        b"Action=ListIdentities&MaxItems=5",
    ],
)
def test_query_fast_decoding_agrees_with_the_exact_walk(body):
    outcome = _exact_query(body)
    if outcome[0] == "ok":
        tables = _query._tables()
        op = tables.OPERATIONS[_query._snake_names(tables)[outcome[1]]]
        assert repr(_query._decode_exactly(tables.SHAPES, op[3], body)) == outcome[2]
    else:
        assert outcome[1] in ("ValidationError", "InvalidParameterValue")


@pytest.mark.parametrize(
    "document",
    [
        {"Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}}},
        {"Content": {"Raw": {"Data": "aGVsbG8="}}, "Unknown": 1},
        {
            "Content": {
                "Simple": {
                    "Subject": {"Data": "s"},
                    "Body": {},
                    "Attachments": [{"FileName": "a", "RawContent": "aGk="}],
                }
            }
        },
        {"Content": {"Simple": {"Subject": {"Data": 5}, "Body": {}}}},
        {"Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {}, "Extra": 1}}},
        {"Destination": {"ToAddresses": "x"}, "Content": {}},
        {},
    ],
)
def test_restjson_fast_decoding_agrees_with_the_exact_walk(document):
    body = json.dumps(document).encode()
    _restjson._routes("POST")
    route = _restjson._LITERAL_ROUTES[("POST", SEND_PATH)]

    def run(call):
        try:
            return ("ok", repr(call()))
        except SESValidationError as exc:
            return ("error", exc.code, exc.message, exc.field)

    fast = run(lambda: _restjson.decode_restjson_request("POST", SEND_PATH, "", body)[1])
    exact = run(
        lambda: _restjson._decode_exactly(
            _restjson._tables().SHAPES, "SendEmailRequest", route, None, "", body
        )
    )
    assert fast == exact


def test_many_connections_at_once_all_get_their_answers():
    with LocalSESThread(check_signatures=False, verify_senders=False) as server:
        request = (
            b"POST /v2/email/outbound-emails HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n"
        )
        body = json.dumps(
            {
                "FromEmailAddress": "a@example.com",
                "Destination": {"ToAddresses": ["b@example.com"]},
                "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
            }
        ).encode()
        wire = request % len(body) + body
        answers: list[bytes] = []
        lock = threading.Lock()

        def client():
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(wire * 5)  # pipelined
                data = b""
                while data.count(b"HTTP/1.1 200") < 5:
                    chunk = sock.recv(65536)
                    assert chunk
                    data += chunk
                with lock:
                    answers.append(data)

        threads = [threading.Thread(target=client) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(answers) == 20
        assert all(answer.count(b'"MessageId"') == 5 for answer in answers)
