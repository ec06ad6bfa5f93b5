"""Fault injection of the local endpoint: every kind, reproducibility, scope, duplicates."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sesclient.local import LocalSESThread
from sesclient.sigv4 import sign_request
from sesclient.testing import InboxClient

SENDER = "sender@example.com"


class Keys:
    def __init__(self, config):
        self.access_key_id = config.access_key_id
        self.secret_access_key = config.secret_access_key
        self.session_token = None


def send_body(subject="Hello", to="to@example.net"):
    return urlencode(
        {
            "Action": "SendEmail",
            "Version": "2010-12-01",
            "Source": SENDER,
            "Destination.ToAddresses.member.1": to,
            "Message.Subject.Data": subject,
            "Message.Body.Text.Data": "body",
        }
    ).encode()


QUOTA_BODY = b"Action=GetSendQuota&Version=2010-12-01"


def signed(server, body):
    """The bytes of a signed v1 request carrying ``body``."""
    headers = sign_request(
        "POST",
        server.url + "/",
        {"Content-Type": "application/x-www-form-urlencoded", "Host": f"127.0.0.1:{server.port}"},
        body,
        credentials=Keys(server.config),
        region=server.config.region,
        service="ses",
    )
    head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def post(server, body):
    """(status, body) of one signed v1 request; raises ConnectionResetError on a reset."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        connection.sock.sendall(signed(server, body))
        response = http.client.HTTPResponse(connection.sock, method="POST")
        response.begin()
        return response.status, response.read().decode()
    finally:
        connection.close()


def start(**settings):
    return LocalSESThread(verified_identities=(SENDER,), **settings)


def boto(server, service):
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=server.config.region,
        aws_access_key_id=server.config.access_key_id,
        aws_secret_access_key=server.config.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_injected_throttling_in_both_protocols():
    with start(throttle_rate=1.0, seed=1) as server:
        with pytest.raises(ClientError) as v1:
            boto(server, "ses").send_email(
                Source=SENDER,
                Destination={"ToAddresses": ["a@example.net"]},
                Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
            )
        assert v1.value.response["Error"]["Code"] == "Throttling"
        assert v1.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        with pytest.raises(ClientError) as v2:
            boto(server, "sesv2").send_email(
                FromEmailAddress=SENDER,
                Destination={"ToAddresses": ["a@example.net"]},
                Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
            )
        assert v2.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert v2.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        # Faults apply to send operations only, by default.
        assert boto(server, "ses").get_send_quota()["ResponseMetadata"]["HTTPStatusCode"] == 200
        inbox = InboxClient(server.url)
        assert inbox.messages() == []
        assert inbox.stats()["faults"]["throttle"] == 2


def test_injected_server_errors_are_500_and_503():
    with start(error_rate=1.0, seed=7) as server:
        statuses = set()
        for _ in range(12):
            status, body = post(server, send_body())
            statuses.add(status)
            code = "InternalFailure" if status == 500 else "ServiceUnavailable"
            assert f"<Code>{code}</Code>" in body
            assert "<Type>Receiver</Type>" in body
        assert statuses == {500, 503}
        sesv2 = boto(server, "sesv2")
        with pytest.raises(ClientError) as caught:
            sesv2.send_email(
                FromEmailAddress=SENDER,
                Destination={"ToAddresses": ["a@example.net"]},
                Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
            )
        assert caught.value.response["Error"]["Code"] in ("InternalFailure", "ServiceUnavailable")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
        stats = InboxClient(server.url).stats()
        assert stats["faults"]["internal_error"] + stats["faults"]["service_unavailable"] == 13
        assert stats["faults"]["internal_error"] and stats["faults"]["service_unavailable"]
        assert stats["accepted"] == 0


def test_reset_before_processing_stores_nothing():
    with start(reset_before_rate=1.0) as server:
        with pytest.raises(ConnectionResetError):
            post(server, send_body())
        inbox = InboxClient(server.url)
        assert inbox.messages() == []
        assert inbox.stats()["faults"]["reset_before"] == 1
        # Other operations are answered normally.
        assert post(server, QUOTA_BODY)[0] == 200


def test_reset_after_processing_stores_the_message():
    with start(reset_after_rate=1.0) as server:
        with pytest.raises(ConnectionResetError):
            post(server, send_body(subject="stored but unanswered"))
        inbox = InboxClient(server.url)
        assert [m["subject"] for m in inbox.messages()] == ["stored but unanswered"]
        stats = inbox.stats()
        assert (stats["faults"]["reset_after"], stats["accepted"]) == (1, 1)


def test_sesclient_reports_a_reset_after_sending_as_unknown_outcome():
    from sesclient import Credentials, SendOutcomeUnknown, SESClient

    with start(reset_after_rate=1.0) as server:
        credentials = Credentials(server.config.access_key_id, server.config.secret_access_key)
        with (
            SESClient("us-east-1", credentials, endpoint_url=server.url, retries=1) as client,
            pytest.raises(SendOutcomeUnknown),
        ):
            client.send_email(from_addr=SENDER, to="a@example.net", subject="s", text="t")
        assert len(InboxClient(server.url).messages()) == 1


def test_latency_keeps_pipelined_answers_in_order():
    with start(latency_ms=30) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(signed(server, send_body()) + signed(server, QUOTA_BODY))
            received = b""
            while received.count(b"Response>") < 2:
                chunk = sock.recv(65536)
                assert chunk, "connection closed early"
                received += chunk
        first = received.index(b"<SendEmailResponse")
        second = received.index(b"<GetSendQuotaResponse")
        assert first < second
        assert received.count(b"HTTP/1.1 200 OK") == 2
        assert len(InboxClient(server.url).messages()) == 1


def outcomes(seed):
    settings = {
        "seed": seed,
        "throttle_rate": 0.2,
        "error_rate": 0.2,
        "reset_before_rate": 0.1,
        "reset_after_rate": 0.1,
    }
    results = []
    with start(**settings) as server:
        for index in range(30):
            try:
                results.append(post(server, send_body(subject=f"n{index}"))[0])
            except ConnectionResetError:
                results.append("reset")
        subjects = [m["subject"] for m in InboxClient(server.url).messages()]
    return results, subjects


def test_faults_are_reproducible_for_a_seed():
    first, stored_first = outcomes(seed=42)
    second, stored_second = outcomes(seed=42)
    assert first == second
    assert stored_first == stored_second
    assert {200, "reset"} <= set(first)
    assert set(first) & {400, 500, 503}
    # Resets after processing store the message, resets before do not.
    stored = set(stored_first)
    answered = {f"n{i}" for i, result in enumerate(first) if result == 200}
    assert answered <= stored
    assert len(stored - answered) == sum(
        1 for i, r in enumerate(first) if r == "reset" and f"n{i}" in stored
    )


def test_fault_operations_can_be_chosen():
    with start(throttle_rate=1.0, fault_operations=frozenset({"GetSendQuota"})) as server:
        status, body = post(server, QUOTA_BODY)
        assert status == 400 and "<Code>Throttling</Code>" in body
        assert post(server, send_body())[0] == 200


def test_duplicates_are_counted_per_recipient():
    with start() as server:
        ses = boto(server, "ses")

        def send(to, subject="Same"):
            return ses.send_email(
                Source=SENDER,
                Destination={"ToAddresses": to},
                Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": "same body"}}},
            )["MessageId"]

        send(["a@example.net"])
        second = send(["a@example.net", "b@example.net"])
        send(["a@example.net"], subject="Different")
        inbox = InboxClient(server.url)
        assert inbox.stats()["duplicates"] == 1
        assert inbox.message(second)["duplicate_recipients"] == 1
        v2_id = boto(server, "sesv2").send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": ["B@example.net"]},
            Content={
                "Simple": {"Subject": {"Data": "Same"}, "Body": {"Text": {"Data": "same body"}}}
            },
        )["MessageId"]
        assert inbox.stats()["duplicates"] == 2
        assert json.loads(json.dumps(inbox.message(v2_id)))["duplicate_recipients"] == 1
