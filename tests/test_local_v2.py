"""The local endpoint's SES v2 (REST-JSON) operations, driven by boto3's ``sesv2`` client."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sesclient.local import LocalSESThread
from sesclient.testing import InboxClient

SENDER = "sender@example.com"


@pytest.fixture(scope="module")
def server():
    with LocalSESThread(verified_identities=(SENDER,)) as running:
        yield running


@pytest.fixture(scope="module")
def sesv2(server):
    return boto3.client(
        "sesv2",
        endpoint_url=server.url,
        region_name=server.config.region,
        aws_access_key_id=server.config.access_key_id,
        aws_secret_access_key=server.config.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def inbox(server):
    return InboxClient(server.url)


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response


def simple_content(subject="Hello", **extra):
    return {
        "Simple": {
            "Subject": {"Data": subject},
            "Body": {"Text": {"Data": "text body"}, "Html": {"Data": "<i>html body</i>"}},
            **extra,
        }
    }


def test_send_simple_email_with_attachments_and_headers(sesv2, inbox):
    reply = sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["to@example.net"], "CcAddresses": ["cc@example.net"]},
        ReplyToAddresses=["reply@example.com"],
        Content=simple_content(
            Headers=[{"Name": "X-Campaign", "Value": "spring"}],
            Attachments=[
                {"FileName": "notes.txt", "RawContent": b"some notes", "ContentType": "text/plain"},
                {"FileName": "blob.bin", "RawContent": bytes(range(256))},
            ],
        ),
        EmailTags=[{"Name": "kind", "Value": "test"}],
        ConfigurationSetName="tracking",
    )
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert reply["ResponseMetadata"]["RequestId"]
    message = inbox.message(reply["MessageId"])
    assert message["api"] == "v2"
    assert message["subject"] == "Hello"
    assert (message["text"], message["html"]) == ("text body", "<i>html body</i>")
    assert message["to"] == ["to@example.net"]
    assert message["cc"] == ["cc@example.net"]
    assert message["reply_to"] == ["reply@example.com"]
    assert message["headers"] == [{"name": "X-Campaign", "value": "spring"}]
    assert message["attachments"] == [
        {"name": "notes.txt", "type": "text/plain", "size": 10},
        {"name": "blob.bin", "type": "application/octet-stream", "size": 256},
    ]
    assert message["tags"] == [{"Name": "kind", "Value": "test"}]
    assert message["configuration_set"] == "tracking"
    assert inbox.attachment(reply["MessageId"], 1) == bytes(range(256))


def test_send_raw_email(sesv2, inbox):
    raw = EmailMessage()
    raw["From"] = SENDER
    raw["To"] = "raw@example.net"
    raw["Subject"] = "Raw v2"
    raw.set_content("raw body")
    reply = sesv2.send_email(Content={"Raw": {"Data": raw.as_bytes()}})
    message = inbox.message(reply["MessageId"])
    assert (message["from"], message["to"], message["subject"]) == (
        SENDER,
        ["raw@example.net"],
        "Raw v2",
    )
    assert message["raw"].startswith("From: sender@example.com")


def test_unverified_sender_and_recipient_limit(sesv2):
    rejected = error_of(
        sesv2.send_email,
        FromEmailAddress="who@nowhere.org",
        Destination={"ToAddresses": ["a@example.net"]},
        Content=simple_content(),
    )
    assert rejected["Error"]["Code"] == "MessageRejected"
    assert "who@nowhere.org" in rejected["Error"]["Message"]
    assert rejected["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert rejected["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "MessageRejected"
    assert rejected["ResponseMetadata"]["RequestId"]
    too_many = error_of(
        sesv2.send_email,
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": [f"r{i}@example.net" for i in range(51)]},
        Content=simple_content(),
    )
    assert too_many["Error"]["Code"] == "BadRequestException"
    assert too_many["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_message_over_40_mb_is_rejected(sesv2):
    attachment = {"FileName": "big.bin", "RawContent": b"\0" * (30 * 1024 * 1024 + 1)}
    response = error_of(
        sesv2.send_email,
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["a@example.net"]},
        Content=simple_content(Attachments=[attachment]),
    )
    assert response["Error"]["Code"] == "MessageRejected"
    assert "41943040" in response["Error"]["Message"]


def test_templates(sesv2, inbox):
    content = {"Subject": "Hi {{name}}", "Text": "Code {{code}}", "Html": "<b>{{code}}</b>"}
    sesv2.create_email_template(TemplateName="v2-tpl", TemplateContent=content)
    got = sesv2.get_email_template(TemplateName="v2-tpl")
    assert (got["TemplateName"], got["TemplateContent"]) == ("v2-tpl", content)
    exists = error_of(sesv2.create_email_template, TemplateName="v2-tpl", TemplateContent=content)
    assert exists["Error"]["Code"] == "AlreadyExistsException"
    sesv2.update_email_template(
        TemplateName="v2-tpl", TemplateContent={**content, "Text": "C {{code}}"}
    )
    assert (
        sesv2.get_email_template(TemplateName="v2-tpl")["TemplateContent"]["Text"] == "C {{code}}"
    )
    listed = sesv2.list_email_templates()["TemplatesMetadata"]
    assert "v2-tpl" in [t["TemplateName"] for t in listed]
    rendered = sesv2.test_render_email_template(
        TemplateName="v2-tpl", TemplateData=json.dumps({"name": "Zoe", "code": 5})
    )["RenderedTemplate"]
    assert "Subject: Hi Zoe" in rendered and "C 5" in rendered
    missing_var = error_of(
        sesv2.test_render_email_template, TemplateName="v2-tpl", TemplateData="{}"
    )
    assert missing_var["Error"]["Code"] == "BadRequestException"
    assert "name" in missing_var["Error"]["Message"]

    reply = sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["t@example.net"]},
        Content={
            "Template": {
                "TemplateName": "v2-tpl",
                "TemplateData": json.dumps({"name": "Zoe", "code": 5}),
            }
        },
    )
    message = inbox.message(reply["MessageId"])
    assert (message["subject"], message["text"], message["html"]) == ("Hi Zoe", "C 5", "<b>5</b>")
    assert message["template"] == "v2-tpl"

    sesv2.delete_email_template(TemplateName="v2-tpl")
    for call in (sesv2.get_email_template, sesv2.delete_email_template):
        gone = error_of(call, TemplateName="v2-tpl")
        assert gone["Error"]["Code"] == "NotFoundException"
        assert gone["ResponseMetadata"]["HTTPStatusCode"] == 404
    gone = error_of(
        sesv2.send_email,
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["t@example.net"]},
        Content={"Template": {"TemplateName": "v2-tpl", "TemplateData": "{}"}},
    )
    assert gone["Error"]["Code"] == "NotFoundException"


def test_inline_template_content_and_arn(sesv2, inbox):
    reply = sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["i@example.net"]},
        Content={
            "Template": {
                "TemplateContent": {"Subject": "Inline {{x}}", "Text": "{{x}}!"},
                "TemplateData": json.dumps({"x": "yes"}),
            }
        },
    )
    assert inbox.message(reply["MessageId"])["subject"] == "Inline yes"
    sesv2.create_email_template(TemplateName="by-arn", TemplateContent={"Subject": "ARN {{x}}"})
    reply = sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["i@example.net"]},
        Content={
            "Template": {
                "TemplateArn": "arn:aws:ses:us-east-1:123456789012:template/by-arn",
                "TemplateData": json.dumps({"x": 1}),
            }
        },
    )
    assert inbox.message(reply["MessageId"])["subject"] == "ARN 1"


def test_send_bulk_email(sesv2, inbox):
    sesv2.create_email_template(
        TemplateName="bulk-v2", TemplateContent={"Subject": "Dear {{name}}", "Text": "{{body}}"}
    )
    reply = sesv2.send_bulk_email(
        FromEmailAddress=SENDER,
        DefaultContent={
            "Template": {
                "TemplateName": "bulk-v2",
                "TemplateData": json.dumps({"name": "all", "body": "default"}),
            }
        },
        BulkEmailEntries=[
            {
                "Destination": {"ToAddresses": ["b1@example.net"]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {"ReplacementTemplateData": json.dumps({"name": "B1"})}
                },
            },
            {"Destination": {"ToAddresses": ["b2@example.net"]}},
            {"Destination": {"ToAddresses": [f"x{i}@example.net" for i in range(51)]}},
        ],
    )
    results = reply["BulkEmailEntryResults"]
    assert [r["Status"] for r in results] == ["SUCCESS", "SUCCESS", "INVALID_PARAMETER"]
    first = inbox.message(results[0]["MessageId"])
    assert (first["subject"], first["text"], first["operation"]) == (
        "Dear B1",
        "default",
        "SendBulkEmail",
    )
    assert inbox.message(results[1]["MessageId"])["subject"] == "Dear all"
    assert "50" in results[2]["Error"]


def test_account(sesv2):
    account = sesv2.get_account()
    assert account["ProductionAccessEnabled"] is True
    assert account["SendingEnabled"] is True
    assert account["EnforcementStatus"] == "HEALTHY"
    assert set(account["SendQuota"]) == {"Max24HourSend", "MaxSendRate", "SentLast24Hours"}
    assert account["SendQuota"]["Max24HourSend"] == -1.0


def test_email_identities(sesv2):
    created = sesv2.create_email_identity(EmailIdentity="ident@example.org")
    assert created["IdentityType"] == "EMAIL_ADDRESS"
    assert created["VerifiedForSendingStatus"] is True
    domain = sesv2.create_email_identity(
        EmailIdentity="ident.example", Tags=[{"Key": "team", "Value": "mail"}]
    )
    assert domain["IdentityType"] == "DOMAIN"
    assert domain["DkimAttributes"]["Status"] == "SUCCESS"
    again = error_of(sesv2.create_email_identity, EmailIdentity="ident@example.org")
    assert again["Error"]["Code"] == "AlreadyExistsException"
    got = sesv2.get_email_identity(EmailIdentity="ident.example")
    assert got["VerificationStatus"] == "SUCCESS"
    assert got["Tags"] == [{"Key": "team", "Value": "mail"}]
    listed = {i["IdentityName"]: i for i in sesv2.list_email_identities()["EmailIdentities"]}
    assert listed["ident@example.org"]["IdentityType"] == "EMAIL_ADDRESS"
    assert listed["ident.example"]["SendingEnabled"] is True
    sesv2.delete_email_identity(EmailIdentity="ident@example.org")
    for call in (sesv2.get_email_identity, sesv2.delete_email_identity):
        missing = error_of(call, EmailIdentity="ident@example.org")
        assert missing["Error"]["Code"] == "NotFoundException"
    bad = error_of(sesv2.create_email_identity, EmailIdentity="no spaces allowed")
    assert bad["Error"]["Code"] == "BadRequestException"


def test_list_email_identities_paginates(sesv2):
    for i in range(4):
        sesv2.create_email_identity(EmailIdentity=f"p{i}@pages.example")
    pages = [sesv2.list_email_identities(PageSize=3)]
    while "NextToken" in pages[-1]:
        pages.append(sesv2.list_email_identities(PageSize=3, NextToken=pages[-1]["NextToken"]))
    assert len(pages) >= 2
    assert all(len(page["EmailIdentities"]) <= 3 for page in pages)
    names = [i["IdentityName"] for page in pages for i in page["EmailIdentities"]]
    assert len(names) == len(set(names))
    assert {f"p{i}@pages.example" for i in range(4)} <= set(names)


def test_suppression_list(sesv2, inbox):
    sesv2.put_suppressed_destination(EmailAddress="bounced@example.net", Reason="BOUNCE")
    sesv2.put_suppressed_destination(EmailAddress="angry@example.net", Reason="COMPLAINT")
    got = sesv2.get_suppressed_destination(EmailAddress="bounced@example.net")
    entry = got["SuppressedDestination"]
    assert (entry["EmailAddress"], entry["Reason"]) == ("bounced@example.net", "BOUNCE")
    assert abs(entry["LastUpdateTime"] - datetime.now(timezone.utc)) < timedelta(minutes=5)
    both = sesv2.list_suppressed_destinations()["SuppressedDestinationSummaries"]
    assert {s["EmailAddress"] for s in both} >= {"bounced@example.net", "angry@example.net"}
    bounces = sesv2.list_suppressed_destinations(Reasons=["BOUNCE"])
    assert [s["EmailAddress"] for s in bounces["SuppressedDestinationSummaries"]] == [
        "bounced@example.net"
    ]
    future = sesv2.list_suppressed_destinations(
        StartDate=datetime.now(timezone.utc) + timedelta(days=1)
    )
    assert future["SuppressedDestinationSummaries"] == []
    # Sending to a suppressed address is accepted; the inbox notes the suppression.
    reply = sesv2.send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["bounced@example.net", "fine@example.net"]},
        Content=simple_content(),
    )
    assert inbox.message(reply["MessageId"])["suppressed"] == ["bounced@example.net"]
    sesv2.delete_suppressed_destination(EmailAddress="bounced@example.net")
    for call in (sesv2.get_suppressed_destination, sesv2.delete_suppressed_destination):
        missing = error_of(call, EmailAddress="bounced@example.net")
        assert missing["Error"]["Code"] == "NotFoundException"
    bad_token = error_of(sesv2.list_suppressed_destinations, NextToken="garbage")
    assert bad_token["Error"]["Code"] == "InvalidNextTokenException"


def test_unimplemented_valid_operation_is_a_clear_error(sesv2):
    response = error_of(sesv2.list_contact_lists)
    assert response["Error"]["Code"] == "BadRequestException"
    assert "ListContactLists" in response["Error"]["Message"]
    assert sesv2.get_account()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_unknown_path_is_a_json_404(server):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/v2/email/no-such-thing", headers={"Host": "x"})
    response = connection.getresponse()
    body = response.read()
    # Signature checks come first, as on AWS.
    assert response.status == 403
    assert response.getheader("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert json.loads(body)["message"]
    assert response.getheader("Date")
