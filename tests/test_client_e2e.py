"""The core SDK's operations, end to end over real HTTP on loopback.

Both clients (sync and async, the latter on sesclient's own transport) run
every operation of the core issue against the local endpoint, signed and
checked, and the results are cross-checked in the endpoint's inbox.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import httpx
import pytest

import sesclient
from sesclient import AsyncSESClient, Credentials, RetryPolicy, SESClient
from sesclient.local import LocalSESThread

SENDER = "sender@example.com"


@pytest.fixture(scope="module")
def server():
    with LocalSESThread(verified_identities=(SENDER,)) as running:
        yield running


def _credentials(server):
    return Credentials(server.config.access_key_id, server.config.secret_access_key)


@pytest.fixture
def client(server):
    with SESClient(server.config.region, _credentials(server), endpoint_url=server.url) as c:
        yield c


def inbox(server):
    return httpx.get(f"{server.url}/_inbox/api/messages").json()["messages"]


def find(server, message_id):
    return httpx.get(f"{server.url}/_inbox/api/messages/{message_id}").json()


def test_v1_core_operations(client, server):
    v1 = client.v1
    assert (
        v1.verify_email_identity(EmailAddress="v1@example.com")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 200
    )
    tokens = v1.verify_domain_identity(Domain="v1-domain.example")
    assert tokens["VerificationToken"]
    identities = v1.list_identities()["Identities"]
    assert "v1@example.com" in identities and "v1-domain.example" in identities

    sent = v1.send_email(
        Source="v1@example.com",
        Destination={"ToAddresses": ["to@example.com"], "CcAddresses": ["cc@example.com"]},
        Message={
            "Subject": {"Data": "v1 subject ü"},
            "Body": {"Text": {"Data": "plain"}, "Html": {"Data": "<b>html</b>"}},
        },
        Tags=[{"Name": "campaign", "Value": "test"}],
    )
    stored = find(server, sent["MessageId"])
    assert stored["subject"] == "v1 subject ü" and stored["api"] == "v1"

    raw = (
        b"From: v1@example.com\r\nTo: raw@example.com\r\nSubject: raw one\r\n"
        b"Content-Type: text/plain\r\n\r\nraw body\r\n"
    )
    sent = v1.send_raw_email(RawMessage={"Data": raw})
    assert find(server, sent["MessageId"])["subject"] == "raw one"

    v1.create_template(
        Template={
            "TemplateName": "v1-t",
            "SubjectPart": "Hi {{name}}",
            "TextPart": "Hello {{name}}",
            "HtmlPart": "<p>Hello {{name}}</p>",
        }
    )
    assert v1.get_template(TemplateName="v1-t")["Template"]["SubjectPart"] == "Hi {{name}}"
    v1.update_template(
        Template={"TemplateName": "v1-t", "SubjectPart": "Hey {{name}}", "TextPart": "Yo {{name}}"}
    )
    names = [t["Name"] for t in v1.list_templates()["TemplatesMetadata"]]
    assert "v1-t" in names
    created = v1.list_templates()["TemplatesMetadata"][0]["CreatedTimestamp"]
    assert isinstance(created, datetime) and created.tzinfo is not None

    sent = v1.send_templated_email(
        Source="v1@example.com",
        Destination={"ToAddresses": ["t@example.com"]},
        Template="v1-t",
        TemplateData=json.dumps({"name": "Ann"}),
    )
    assert find(server, sent["MessageId"])["subject"] == "Hey Ann"

    bulk = v1.send_bulk_templated_email(
        Source="v1@example.com",
        Template="v1-t",
        DefaultTemplateData=json.dumps({"name": "friend"}),
        Destinations=[
            {"Destination": {"ToAddresses": ["b1@example.com"]}},
            {
                "Destination": {"ToAddresses": ["b2@example.com"]},
                "ReplacementTemplateData": json.dumps({"name": "Bo"}),
            },
        ],
    )
    statuses = [entry["Status"] for entry in bulk["Status"]]
    assert statuses == ["Success", "Success"]

    quota = v1.get_send_quota()
    assert {"Max24HourSend", "MaxSendRate", "SentLast24Hours"} <= set(quota)
    assert quota["SentLast24Hours"] >= 5
    stats = v1.get_send_statistics()["SendDataPoints"]
    assert sum(point["DeliveryAttempts"] for point in stats) >= 5

    v1.delete_template(TemplateName="v1-t")
    with pytest.raises(sesclient.TemplateDoesNotExist):
        v1.get_template(TemplateName="v1-t")
    v1.delete_identity(Identity="v1-domain.example")
    assert "v1-domain.example" not in v1.list_identities()["Identities"]


def test_v2_core_operations(client, server):
    v2 = client.v2
    created = v2.create_email_identity(EmailIdentity="v2+tag@example.com")
    assert created["VerifiedForSendingStatus"] is True
    identity = v2.get_email_identity(EmailIdentity="v2+tag@example.com")
    assert identity["VerifiedForSendingStatus"] is True
    listed = [i["IdentityName"] for i in v2.list_email_identities()["EmailIdentities"]]
    assert "v2+tag@example.com" in listed

    sent = v2.send_email(
        FromEmailAddress="v2+tag@example.com",
        Destination={"ToAddresses": ["to@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "with attachment"},
                "Body": {"Text": {"Data": "see attached"}},
                "Headers": [{"Name": "X-Order", "Value": "42"}],
                "Attachments": [
                    {
                        "FileName": "a.bin",
                        "RawContent": b"\x00\x01\xff",
                        "ContentType": "application/octet-stream",
                    }
                ],
            }
        },
    )
    stored = find(server, sent["MessageId"])
    assert stored["attachments"][0]["name"] == "a.bin"
    assert stored["attachments"][0]["size"] == 3

    raw = b"From: v2+tag@example.com\r\nTo: r@example.com\r\nSubject: v2 raw\r\n\r\nbody\r\n"
    sent = v2.send_email(Content={"Raw": {"Data": raw}})
    assert find(server, sent["MessageId"])["subject"] == "v2 raw"

    v2.create_email_template(
        TemplateName="v2-t",
        TemplateContent={"Subject": "Order {{order.id}}", "Text": "Hi {{name}}"},
    )
    assert v2.get_email_template(TemplateName="v2-t")["TemplateContent"]["Subject"] == (
        "Order {{order.id}}"
    )
    v2.update_email_template(
        TemplateName="v2-t",
        TemplateContent={"Subject": "Order {{order.id}}!", "Text": "Hi {{name}}"},
    )
    assert "v2-t" in [t["TemplateName"] for t in v2.list_email_templates()["TemplatesMetadata"]]
    sent = v2.send_email(
        FromEmailAddress="v2+tag@example.com",
        Destination={"ToAddresses": ["t@example.com"]},
        Content={
            "Template": {
                "TemplateName": "v2-t",
                "TemplateData": json.dumps({"name": "Al", "order": {"id": 7}}),
            }
        },
    )
    assert find(server, sent["MessageId"])["subject"] == "Order 7!"

    bulk = v2.send_bulk_email(
        FromEmailAddress="v2+tag@example.com",
        DefaultContent={"Template": {"TemplateName": "v2-t", "TemplateData": '{"order":{"id":1}}'}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": [f"bulk{i}@example.com"]}} for i in range(3)
        ],
    )
    assert [r["Status"] for r in bulk["BulkEmailEntryResults"]] == ["SUCCESS"] * 3

    account = v2.get_account()
    assert account["SendQuota"]["SentLast24Hours"] >= 5
    v2.delete_email_template(TemplateName="v2-t")
    with pytest.raises(sesclient.TemplateDoesNotExist):
        v2.get_email_template(TemplateName="v2-t")
    v2.delete_email_identity(EmailIdentity="v2+tag@example.com")
    with pytest.raises(sesclient.NotFound):
        v2.get_email_identity(EmailIdentity="v2+tag@example.com")


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_high_level_send_through_either_api(server, api):
    with SESClient(
        server.config.region, _credentials(server), api=api, endpoint_url=server.url
    ) as c:
        result = c.send_email(
            from_addr=f"Sender <{SENDER}>",
            to='"Doe, John" <john@example.com>, jane@example.com',
            bcc=["archive@example.com"],
            subject=f"hello {api}",
            text="plain",
            html="<p>html</p>",
            attachments=[("note.txt", b"hi", "text/plain")],
            headers={"X-Campaign": "spring"},
        )
    assert result.api == api and result.request_id
    stored = find(server, result.message_id)
    assert stored["subject"] == f"hello {api}"
    assert stored["text"].strip() == "plain"
    assert [a["name"] for a in stored["attachments"]] == ["note.txt"]


def test_unverified_sender_is_rejected(client):
    with pytest.raises(sesclient.MessageRejected) as info:
        client.send_email(
            from_addr="nobody@unverified.example", to="x@example.com", subject="s", text="t"
        )
    assert info.value.status_code == 400 and info.value.request_id


def test_wrong_secret_is_refused_for_both_apis(server):
    for api in ("v1", "v2"):
        with (
            SESClient(
                server.config.region,
                Credentials(server.config.access_key_id, "not-the-secret"),
                api=api,
                endpoint_url=server.url,
            ) as c,
            pytest.raises(sesclient.SignatureDoesNotMatch),
        ):
            c.send_email(from_addr=SENDER, to="x@example.com", subject="s", text="t")


def test_paginator_and_waiter_against_the_endpoint(client):
    for n in range(5):
        client.v1.verify_email_identity(EmailAddress=f"page{n}@example.com")
    pages = list(
        client.v1.get_paginator("list_identities").paginate(PaginationConfig={"PageSize": 2})
    )
    assert len(pages) >= 3
    names = [name for page in pages for name in page["Identities"]]
    assert {f"page{n}@example.com" for n in range(5)} <= set(names)
    assert len(names) == len(set(names))
    limited = list(
        client.v1.get_paginator("list_identities").paginate(
            PaginationConfig={"MaxItems": 3, "PageSize": 2}
        )
    )
    assert sum(len(page["Identities"]) for page in limited) == 3
    client.v1.get_waiter("identity_exists").wait(
        Identities=["page0@example.com"], WaiterConfig={"Delay": 0, "MaxAttempts": 2}
    )


def test_waiter_gives_up(client):
    with pytest.raises(sesclient.WaiterError, match="max attempts"):
        client.v1.get_waiter("identity_exists").wait(
            Identities=["never-created@example.com"], WaiterConfig={"Delay": 0, "MaxAttempts": 2}
        )


def test_async_client_end_to_end(server):
    async def main():
        async with AsyncSESClient(
            server.config.region,
            _credentials(server),
            endpoint_url=server.url,
            retries=RetryPolicy(max_attempts=2, base_delay=0),
        ) as c:
            results = await asyncio.gather(
                *(
                    c.send_email(
                        from_addr=SENDER, to=f"a{n}@example.com", subject=f"async {n}", text="t"
                    )
                    for n in range(50)
                )
            )
            quota = await c.v1.get_send_quota()
            pages = [page async for page in c.v1.get_paginator("list_identities").paginate()]
            return results, quota, pages

    results, quota, pages = asyncio.run(main())
    assert len({r.message_id for r in results}) == 50
    assert quota["SentLast24Hours"] >= 50
    assert pages and SENDER in pages[0]["Identities"]
    subjects = {m["subject"] for m in inbox(server)}
    assert {f"async {n}" for n in range(50)} <= subjects


def test_client_repr_and_config(server):
    with SESClient(server.config.region, _credentials(server), endpoint_url=server.url) as c:
        text = repr(c)
    assert server.url in text and server.config.secret_access_key not in text
    from sesclient._models import load

    assert "send_email" in dir(c.v2)
    assert set(load("v1").OPERATIONS) <= set(dir(c.v1))
    assert len(load("v1").OPERATIONS) == 71 and len(load("v2").OPERATIONS) == 110


def test_client_timeout_applies_and_a_silent_server_is_an_unknown_outcome():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []

    def accept():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(connection)  # read nothing, answer nothing

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with (
            SESClient("us-east-1", Credentials("AKID", "s"), endpoint_url=url, timeout=0.3) as c,
            pytest.raises(sesclient.SendOutcomeUnknown, match="ReadTimeout"),
        ):
            c.send_email(from_addr=SENDER, to="x@example.com", subject="s", text="t")

        async def main():
            client = AsyncSESClient(
                "us-east-1", Credentials("AKID", "s"), endpoint_url=url, timeout=0.3
            )
            async with client as c:
                with pytest.raises(sesclient.SendOutcomeUnknown, match="ReadTimeout"):
                    await c.send_email(from_addr=SENDER, to="x@example.com", subject="s", text="t")

        asyncio.run(main())
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def test_with_options_shares_the_pool(server):
    base = SESClient(server.config.region, _credentials(server), endpoint_url=server.url)
    once = base.with_options(retries=1, api="v1")
    assert once.api == "v1" and base.api == "v2"
    assert once._http is base._http
    assert once._core.endpoints["v1"].policy.max_attempts == 1
    assert base._core.endpoints["v1"].policy.max_attempts == 3
    result = once.send_email(from_addr=SENDER, to="x@example.com", subject="derived", text="t")
    assert result.api == "v1"
    once.close()  # the derived client does not own the pool
    assert base.send_email(from_addr=SENDER, to="x@example.com", subject="s", text="t").api == "v2"
    base.close()
    with pytest.raises(sesclient.SESValidationError):
        base.with_options(api="v3")


def test_http2_needs_its_extra(server):
    import importlib.util

    credentials = _credentials(server)
    if importlib.util.find_spec("h2") is None:
        with pytest.raises(ImportError, match=r"sesclient\[http2\]"):
            SESClient(server.config.region, credentials, endpoint_url=server.url, http2=True)
    else:  # with h2 installed, plain-HTTP loopback still negotiates HTTP/1.1 and works
        with SESClient(
            server.config.region, credentials, endpoint_url=server.url, http2=True
        ) as client:
            assert client.send_email(from_addr=SENDER, to="h2@example.com", subject="s", text="t")


def test_render_and_suppression_operations(client):
    v1, v2 = client.v1, client.v2
    v1.create_template(
        Template={
            "TemplateName": "render-1",
            "SubjectPart": "Hi {{name}}",
            "TextPart": "Yo {{name}}",
        }
    )
    rendered = v1.test_render_template(TemplateName="render-1", TemplateData='{"name": "Ann"}')
    assert "Subject: Hi Ann" in rendered["RenderedTemplate"]
    with pytest.raises(sesclient.SESError) as info:
        v1.test_render_template(TemplateName="render-1", TemplateData="{}")
    assert info.value.code == "MissingRenderingAttribute"

    v2.create_email_template(
        TemplateName="render-2", TemplateContent={"Subject": "Order {{id}}", "Text": "x"}
    )
    rendered = v2.test_render_email_template(TemplateName="render-2", TemplateData='{"id": 7}')
    assert "Order 7" in rendered["RenderedTemplate"]
    with pytest.raises(sesclient.TemplateDoesNotExist):
        v2.test_render_email_template(TemplateName="no-such-template", TemplateData="{}")

    v2.put_suppressed_destination(EmailAddress="bounced@example.com", Reason="BOUNCE")
    got = v2.get_suppressed_destination(EmailAddress="bounced@example.com")
    assert got["SuppressedDestination"]["Reason"] == "BOUNCE"
    assert isinstance(got["SuppressedDestination"]["LastUpdateTime"], datetime)
    listed = v2.list_suppressed_destinations(Reasons=["BOUNCE"])["SuppressedDestinationSummaries"]
    assert "bounced@example.com" in [s["EmailAddress"] for s in listed]
    v2.delete_suppressed_destination(EmailAddress="bounced@example.com")
    with pytest.raises(sesclient.NotFound):
        v2.get_suppressed_destination(EmailAddress="bounced@example.com")
