"""The inbox of the local endpoint: JSON API, HTML page, memory and SQLite storage."""

from __future__ import annotations

import http.client
import json
import re
from html import unescape

import boto3
import pytest
from botocore.config import Config

from sesclient.local import LocalSESThread
from sesclient.testing import InboxClient

SENDER = "sender@example.com"


def sesv2_for(server):
    return boto3.client(
        "sesv2",
        endpoint_url=server.url,
        region_name=server.config.region,
        aws_access_key_id=server.config.access_key_id,
        aws_secret_access_key=server.config.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def send(sesv2, to, subject, *, html=None, attachments=()):
    body = {"Text": {"Data": f"text of {subject}"}}
    if html is not None:
        body["Html"] = {"Data": html}
    simple = {"Subject": {"Data": subject}, "Body": body}
    if attachments:
        simple["Attachments"] = [
            {"FileName": name, "RawContent": data, "ContentType": kind}
            for name, kind, data in attachments
        ]
    return sesv2.send_email(
        FromEmailAddress=SENDER, Destination={"ToAddresses": to}, Content={"Simple": simple}
    )["MessageId"]


def get(server, path, method="GET"):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def server():
    with LocalSESThread(verified_identities=(SENDER,)) as running:
        yield running


def test_json_api_lists_filters_and_clears(server):
    sesv2 = sesv2_for(server)
    first = send(sesv2, ["ann@example.net"], "First")
    second = send(sesv2, ["bob@example.net", "ann@example.net"], "Second")
    third = send(sesv2, ["cid@example.net"], "Third")
    inbox = InboxClient(server.url)
    assert [m["message_id"] for m in inbox.messages()] == [first, second, third]
    assert [m["subject"] for m in inbox.messages(to="ANN@example.net")] == ["First", "Second"]
    assert [m["subject"] for m in inbox.messages(subject="ir")] == ["First", "Third"]
    assert [m["subject"] for m in inbox.messages(limit=1)] == ["Third"]
    assert len(inbox.messages(from_=SENDER)) == 3
    assert inbox.messages(from_="other@example.com") == []
    listed = inbox.messages()[0]
    assert {"message_id", "api", "from", "to", "cc", "bcc", "subject", "text", "html"} <= set(
        listed
    )
    assert listed["attachments"] == []
    with pytest.raises(LookupError):
        inbox.message("no-such-id")
    assert inbox.clear() == 3
    assert inbox.messages() == []
    stats = inbox.stats()
    assert stats["accepted"] == 3
    assert stats["stored"] == 0
    assert set(stats["faults"]) == {
        "reset_before",
        "reset_after",
        "throttle",
        "internal_error",
        "service_unavailable",
    }


def test_attachment_download_is_never_rendered(server):
    html_attachment = b"<script>alert(1)</script>"
    message_id = send(
        sesv2_for(server),
        ["a@example.net"],
        "With files",
        attachments=[("page.html", "text/html", html_attachment), ("b.bin", "x/y", b"\x00\x01")],
    )
    status, headers, body = get(server, f"/_inbox/api/messages/{message_id}/attachments/0")
    assert status == 200
    assert body == html_attachment
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "page.html" in headers["Content-Disposition"]
    assert "sandbox" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert get(server, f"/_inbox/api/messages/{message_id}/attachments/2")[0] == 404
    assert get(server, f"/_inbox/api/messages/{message_id}/attachments/x")[0] == 404
    assert get(server, "/_inbox/api/messages/nope/attachments/0")[0] == 404


def test_inbox_page_lists_and_shows_html_in_a_sandboxed_iframe(server):
    hostile_subject = 'Offer <script>alert("s")</script> & more'
    html_body = '<h1 style="color:red">Big sale</h1><script>alert("x")</script>'
    message_id = send(sesv2_for(server), ["a@example.net"], hostile_subject, html=html_body)

    status, headers, page = get(server, "/_inbox")
    text = page.decode()
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "<script" not in text
    assert "Offer &lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt; &amp; more" in text
    link = re.search(r'href="(/_inbox/messages/[^"]+)"', text).group(1)
    assert message_id in link

    status, headers, page = get(server, unescape(link))
    text = page.decode()
    assert status == 200
    assert "<script" not in text
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    frame = re.search(r"<iframe ([^>]*)>", text).group(1)
    assert 'sandbox=""' in frame
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame).group(1)
    assert unescape(srcdoc) == html_body
    assert "text of" in text


def test_inbox_page_for_unknown_message_and_methods(server):
    assert get(server, "/_inbox/messages/unknown")[0] == 404
    assert get(server, "/_inbox/elsewhere")[0] == 404
    assert get(server, "/_inbox/api/nothing")[0] == 404
    assert get(server, "/_inbox", method="POST")[0] == 405
    assert get(server, "/_inbox/api/stats", method="DELETE")[0] == 405
    status, _, body = get(server, "/")
    assert status == 200 and b"/_inbox" in body
    assert get(server, "/favicon.ico")[0] == 404


def test_sqlite_store_keeps_everything_across_restarts(tmp_path):
    db = str(tmp_path / "ses.db")
    with LocalSESThread(db=db, verified_identities=(SENDER,)) as server:
        sesv2 = sesv2_for(server)
        message_id = send(
            sesv2,
            ["keep@example.net"],
            "Persisted",
            html="<p>kept</p>",
            attachments=[("a.txt", "text/plain", b"attached")],
        )
        send(
            sesv2,
            ["keep@example.net"],
            "Persisted",
            html="<p>kept</p>",
            attachments=[("a.txt", "text/plain", b"attached")],
        )
        sesv2.create_email_template(TemplateName="kept", TemplateContent={"Subject": "{{x}}"})
        sesv2.create_email_identity(EmailIdentity="kept.example")
        sesv2.put_suppressed_destination(EmailAddress="gone@example.net", Reason="BOUNCE")
        assert InboxClient(server.url).stats()["duplicates"] == 1

    with LocalSESThread(db=db) as server:
        inbox = InboxClient(server.url)
        message = inbox.message(message_id)
        assert (message["subject"], message["html"]) == ("Persisted", "<p>kept</p>")
        assert message["attachments"] == [{"name": "a.txt", "type": "text/plain", "size": 8}]
        assert inbox.attachment(message_id, 0) == b"attached"
        assert len(inbox.messages(to="keep@example.net")) == 2
        assert inbox.stats()["accepted"] == 2
        sesv2 = sesv2_for(server)
        assert sesv2.get_email_template(TemplateName="kept")["TemplateContent"] == {
            "Subject": "{{x}}"
        }
        names = {i["IdentityName"] for i in sesv2.list_email_identities()["EmailIdentities"]}
        assert names == {SENDER, "kept.example"}
        entry = sesv2.get_suppressed_destination(EmailAddress="gone@example.net")
        assert entry["SuppressedDestination"]["Reason"] == "BOUNCE"
        # The verified domain from the first run still lets its addresses send.
        sesv2.send_email(
            FromEmailAddress="news@kept.example",
            Destination={"ToAddresses": ["x@example.net"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        )
        assert inbox.clear() == 3
        assert inbox.messages() == []
        sesv2.delete_email_template(TemplateName="kept")
        sesv2.delete_suppressed_destination(EmailAddress="gone@example.net")
        sesv2.delete_email_identity(EmailIdentity="kept.example")

    with LocalSESThread(db=db) as server:
        assert InboxClient(server.url).messages() == []
        assert json.loads(get(server, "/_inbox/api/stats")[2])["accepted"] == 3
