"""Sending rules of the local endpoint: send rate, 24-hour quota, sandbox, verification.

The limiter's clock is replaced by a hand-moved one so that no test depends on
how fast the machine is.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sesclient.local import LocalSESThread
from sesclient.local._limits import SendLimiter
from sesclient.testing import InboxClient

SENDER = "sender@example.com"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def clients(server):
    kwargs = {
        "endpoint_url": server.url,
        "region_name": server.config.region,
        "aws_access_key_id": server.config.access_key_id,
        "aws_secret_access_key": server.config.secret_access_key,
        "config": Config(retries={"total_max_attempts": 1}),
    }
    return boto3.client("ses", **kwargs), boto3.client("sesv2", **kwargs)


@pytest.fixture
def limited():
    """A server whose limits run on a manual clock: (server, ses, sesv2, clock)."""

    def start(**settings):
        server = LocalSESThread(verified_identities=(SENDER,), **settings).start()
        clock = Clock()
        config = server.config
        server.server.service.limiter = SendLimiter(
            max_send_rate=config.max_send_rate, max_24h_send=config.max_24h_send, clock=clock
        )
        started.append(server)
        return (server, *clients(server), clock)

    started: list[LocalSESThread] = []
    yield start
    for server in started:
        server.stop()


def v1_send(ses, recipients=1):
    return ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": [f"r{i}@example.net" for i in range(recipients)]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )


def v2_send(sesv2, recipients=1):
    return sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": [f"r{i}@example.net" for i in range(recipients)]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
    )


def refused(call, *args):
    with pytest.raises(ClientError) as caught:
        call(*args)
    return caught.value.response


def test_send_rate_counts_recipients_and_refills(limited):
    server, ses, sesv2, clock = limited(max_send_rate=3)
    v1_send(ses, recipients=2)
    v2_send(sesv2)
    response = refused(v1_send, ses)
    assert response["Error"] == {
        "Type": "Sender",
        "Code": "Throttling",
        "Message": "Maximum sending rate exceeded.",
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    response = refused(v2_send, sesv2)
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["Error"]["Message"] == "Maximum sending rate exceeded."
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    clock.now += 1 / 3  # one recipient's worth of tokens
    v1_send(ses)
    assert refused(v1_send, ses)["Error"]["Code"] == "Throttling"
    clock.now += 1.0
    v2_send(sesv2, recipients=3)
    stats = InboxClient(server.url).stats()
    assert (stats["accepted"], stats["throttled"]) == (4, 3)
    quota = ses.get_send_quota()
    assert quota["MaxSendRate"] == 3.0
    assert quota["SentLast24Hours"] == 7.0


def test_message_larger_than_the_burst_passes_on_a_full_bucket(limited):
    _, ses, _, clock = limited(max_send_rate=1)
    v1_send(ses, recipients=5)
    assert refused(v1_send, ses)["Error"]["Code"] == "Throttling"
    clock.now += 4.5  # still in debt
    assert refused(v1_send, ses)["Error"]["Code"] == "Throttling"
    clock.now += 1.0
    v1_send(ses)


def test_daily_quota(limited):
    server, ses, sesv2, clock = limited(max_24h_send=3)
    v1_send(ses, recipients=2)
    v2_send(sesv2)
    response = refused(v1_send, ses)
    assert response["Error"]["Code"] == "Throttling"
    assert response["Error"]["Message"] == "Daily message quota exceeded."
    response = refused(v2_send, sesv2)
    assert response["Error"]["Code"] == "LimitExceededException"
    assert response["Error"]["Message"] == "Daily message quota exceeded."
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    quota = ses.get_send_quota()
    assert (quota["Max24HourSend"], quota["SentLast24Hours"]) == (3.0, 3.0)
    account = sesv2.get_account()["SendQuota"]
    assert (account["Max24HourSend"], account["SentLast24Hours"]) == (3.0, 3.0)
    assert InboxClient(server.url).stats()["quota_exceeded"] == 2
    clock.now += 86400 + 1
    assert ses.get_send_quota()["SentLast24Hours"] == 0.0
    v1_send(ses, recipients=3)


def test_quota_window_slides(limited):
    _, ses, _, clock = limited(max_24h_send=2)
    v1_send(ses)
    clock.now += 43200
    v1_send(ses)
    assert refused(v1_send, ses)["Error"]["Message"] == "Daily message quota exceeded."
    clock.now += 43200  # the first send leaves the window
    v1_send(ses)


def test_bulk_entries_are_throttled_one_by_one(limited):
    _, ses, sesv2, clock = limited(max_send_rate=2)
    ses.create_template(Template={"TemplateName": "t", "SubjectPart": "x", "TextPart": "y"})
    statuses = ses.send_bulk_templated_email(
        Source=SENDER,
        Template="t",
        DefaultTemplateData="{}",
        Destinations=[{"Destination": {"ToAddresses": [f"b{i}@example.net"]}} for i in range(3)],
    )["Status"]
    assert [s["Status"] for s in statuses] == ["Success", "Success", "AccountThrottled"]
    clock.now += 10
    results = sesv2.send_bulk_email(
        FromEmailAddress=SENDER,
        DefaultContent={"Template": {"TemplateName": "t", "TemplateData": json.dumps({})}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": [f"c{i}@example.net"]}} for i in range(3)
        ],
    )["BulkEmailEntryResults"]
    assert [r["Status"] for r in results] == ["SUCCESS", "SUCCESS", "ACCOUNT_THROTTLED"]


def test_sandbox_requires_verified_recipients(limited):
    _, ses, sesv2, _ = limited(sandbox=True)
    response = refused(v1_send, ses, 2)
    assert response["Error"]["Code"] == "MessageRejected"
    assert response["Error"]["Message"] == (
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: r0@example.net, r1@example.net"
    )
    sesv2.create_email_identity(EmailIdentity="example.net")
    v1_send(ses, recipients=2)
    assert sesv2.get_account()["ProductionAccessEnabled"] is False


def test_verification_can_be_turned_off(limited):
    server, ses, _, _ = limited(verify_senders=False)
    reply = ses.send_email(
        Source="anyone@anywhere.example",
        Destination={"ToAddresses": ["x@example.net"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )
    assert InboxClient(server.url).message(reply["MessageId"])["from"] == "anyone@anywhere.example"


def test_sesclient_maps_the_limits_to_its_error_classes(limited):
    from sesclient import Credentials, DailyQuotaExceeded, SESClient, Throttling

    server, ses, _, clock = limited(max_send_rate=1, max_24h_send=3)
    credentials = Credentials(server.config.access_key_id, server.config.secret_access_key)
    for api in ("v1", "v2"):
        with SESClient(
            "us-east-1", credentials, api=api, endpoint_url=server.url, retries=1
        ) as client:
            clock.now += 5
            client.send_email(from_addr=SENDER, to="a@example.net", subject="s", text="t")
            with pytest.raises(Throttling) as throttled:
                client.send_email(from_addr=SENDER, to="a@example.net", subject="s", text="t")
            assert not throttled.value.daily_quota_exceeded
    clock.now += 5
    v1_send(ses)
    for api in ("v1", "v2"):
        with (
            SESClient(
                "us-east-1", credentials, api=api, endpoint_url=server.url, retries=1
            ) as client,
            pytest.raises(DailyQuotaExceeded),
        ):
            client.send_email(from_addr=SENDER, to="a@example.net", subject="s", text="t")
