"""The local endpoint's SES v1 (Query) operations, driven by boto3's ``ses`` client over HTTP."""

from __future__ import annotations

import json
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
def ses(server):
    return boto3.client(
        "ses",
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


def simple(to, subject="Hello", **extra):
    return {
        "Source": SENDER,
        "Destination": {"ToAddresses": list(to)},
        "Message": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": "Hi there"}}},
        **extra,
    }


def test_send_email_is_stored_with_every_field(ses, inbox):
    reply = ses.send_email(
        Source=f"Sender <{SENDER}>",
        Destination={
            "ToAddresses": ["to@example.net"],
            "CcAddresses": ["cc@example.net"],
            "BccAddresses": ["bcc@example.net"],
        },
        Message={
            "Subject": {"Data": "Quarterly report", "Charset": "UTF-8"},
            "Body": {"Text": {"Data": "plain body"}, "Html": {"Data": "<p>html body</p>"}},
        },
        ReplyToAddresses=["reply@example.com"],
        Tags=[{"Name": "campaign", "Value": "q3"}],
    )
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert reply["ResponseMetadata"]["RequestId"]
    message = inbox.message(reply["MessageId"])
    assert message["api"] == "v1"
    assert message["operation"] == "SendEmail"
    assert message["from"] == f"Sender <{SENDER}>"
    assert (message["to"], message["cc"], message["bcc"]) == (
        ["to@example.net"],
        ["cc@example.net"],
        ["bcc@example.net"],
    )
    assert message["reply_to"] == ["reply@example.com"]
    assert message["subject"] == "Quarterly report"
    assert message["text"] == "plain body"
    assert message["html"] == "<p>html body</p>"
    assert message["tags"] == [{"Name": "campaign", "Value": "q3"}]
    assert message["timestamp"].endswith("Z")


def test_unverified_sender_is_rejected_as_ses_does(ses, inbox):
    before = inbox.stats()["rejected"]
    response = error_of(ses.send_email, **{**simple(["a@example.net"]), "Source": "x@other.org"})
    assert response["Error"]["Code"] == "MessageRejected"
    assert response["Error"]["Type"] == "Sender"
    assert response["Error"]["Message"] == (
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: x@other.org"
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert inbox.stats()["rejected"] == before + 1


def test_verified_domain_covers_every_address_in_it(ses, inbox):
    token = ses.verify_domain_identity(Domain="brand.example")["VerificationToken"]
    assert len(token) == 44
    reply = ses.send_email(**{**simple(["a@example.net"]), "Source": "news@brand.example"})
    assert inbox.message(reply["MessageId"])["from"] == "news@brand.example"


def test_more_than_50_recipients_is_refused(ses):
    recipients = [f"r{i}@example.net" for i in range(51)]
    response = error_of(ses.send_email, **simple(recipients))
    assert response["Error"]["Code"] == "InvalidParameterValue"
    assert "50" in response["Error"]["Message"]
    assert len(ses.send_email(**simple(recipients[:50]))["MessageId"]) > 20


def test_message_over_10_mb_is_rejected(ses):
    big = "x" * (10 * 1024 * 1024 + 1)
    kwargs = simple(["a@example.net"])
    kwargs["Message"]["Body"] = {"Text": {"Data": big}}
    response = error_of(ses.send_email, **kwargs)
    assert response["Error"]["Code"] == "MessageRejected"
    assert "10485760" in response["Error"]["Message"]


def raw_message(subject="Raw hello", attachment=b"%PDF-1.4 fake"):
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = "to@example.net"
    message["Cc"] = "cc@example.net"
    message["Subject"] = subject
    message["X-Custom"] = "yes"
    message.set_content("raw text body")
    message.add_alternative("<b>raw html</b>", subtype="html")
    message.add_attachment(attachment, "application", "pdf", filename="report.pdf")
    return message.as_bytes()


def test_send_raw_email_is_parsed_for_the_inbox(ses, inbox):
    raw = raw_message()
    reply = ses.send_raw_email(RawMessage={"Data": raw}, Destinations=["to@example.net", "x@y.net"])
    message = inbox.message(reply["MessageId"])
    assert message["operation"] == "SendRawEmail"
    assert message["from"] == SENDER
    assert message["to"] == ["to@example.net"]
    assert message["cc"] == ["cc@example.net"]
    assert message["destinations"] == ["to@example.net", "x@y.net"]
    assert message["subject"] == "Raw hello"
    assert message["text"].strip() == "raw text body"
    assert message["html"].strip() == "<b>raw html</b>"
    assert message["attachments"] == [
        {"name": "report.pdf", "type": "application/pdf", "size": len(b"%PDF-1.4 fake")}
    ]
    assert {"name": "X-Custom", "value": "yes"} in message["headers"]
    assert message["raw"].replace("\r\n", "\n") == raw.decode().replace("\r\n", "\n")
    assert inbox.attachment(reply["MessageId"], 0) == b"%PDF-1.4 fake"


def test_send_raw_email_without_source_checks_the_from_header(ses):
    raw = raw_message().replace(SENDER.encode(), b"stranger@other.org")
    response = error_of(ses.send_raw_email, RawMessage={"Data": raw})
    assert response["Error"]["Code"] == "MessageRejected"
    assert "stranger@other.org" in response["Error"]["Message"]


def test_template_life_cycle(ses):
    template = {
        "TemplateName": "v1-welcome",
        "SubjectPart": "Welcome {{name}}",
        "TextPart": "Hi {{name}}",
        "HtmlPart": "<h1>Hi {{name}}</h1>",
    }
    ses.create_template(Template=template)
    assert ses.get_template(TemplateName="v1-welcome")["Template"] == template
    duplicate = error_of(ses.create_template, Template=template)
    assert duplicate["Error"]["Code"] == "AlreadyExists"
    ses.update_template(Template={**template, "SubjectPart": "Hello {{name}}"})
    assert ses.get_template(TemplateName="v1-welcome")["Template"]["SubjectPart"] == (
        "Hello {{name}}"
    )
    names = [t["Name"] for t in ses.list_templates()["TemplatesMetadata"]]
    assert "v1-welcome" in names
    created = ses.list_templates()["TemplatesMetadata"][names.index("v1-welcome")]
    assert created["CreatedTimestamp"].tzinfo is not None
    ses.delete_template(TemplateName="v1-welcome")
    missing = error_of(ses.get_template, TemplateName="v1-welcome")
    assert missing["Error"]["Code"] == "TemplateDoesNotExist"
    missing = error_of(ses.update_template, Template=template)
    assert missing["Error"]["Code"] == "TemplateDoesNotExist"


def test_invalid_template_is_refused(ses):
    response = error_of(
        ses.create_template, Template={"TemplateName": "broken", "SubjectPart": "{{#if x}}open"}
    )
    assert response["Error"]["Code"] == "InvalidTemplate"


def test_test_render_template(ses):
    ses.create_template(
        Template={
            "TemplateName": "render-me",
            "SubjectPart": "Order {{order.id}}",
            "TextPart": "{{#each items}}- {{this}}\n{{/each}}",
            "HtmlPart": "<p>{{note}}</p>",
        }
    )
    rendered = ses.test_render_template(
        TemplateName="render-me",
        TemplateData=json.dumps({"order": {"id": 7}, "items": ["a", "b"], "note": "<&>"}),
    )["RenderedTemplate"]
    assert "Subject: Order 7" in rendered
    assert "- a\n- b" in rendered.replace("\r\n", "\n")
    assert "<p>&lt;&amp;&gt;</p>" in rendered
    missing = error_of(
        ses.test_render_template,
        TemplateName="render-me",
        TemplateData=json.dumps({"items": []}),
    )
    assert missing["Error"]["Code"] == "MissingRenderingAttribute"
    assert "order.id" in missing["Error"]["Message"]
    unknown = error_of(ses.test_render_template, TemplateName="nope", TemplateData="{}")
    assert unknown["Error"]["Code"] == "TemplateDoesNotExist"
    bad = error_of(ses.test_render_template, TemplateName="render-me", TemplateData="{nope")
    assert bad["Error"]["Code"] == "InvalidRenderingParameter"


def test_send_templated_email_renders_and_notes_rendering_failures(ses, inbox):
    ses.create_template(
        Template={
            "TemplateName": "greet",
            "SubjectPart": "Hi {{name}}",
            "TextPart": "Dear {{name}}, your code is {{code}}",
        }
    )
    data = json.dumps({"name": "Ann", "code": "X1"})
    ok = ses.send_templated_email(
        Source=SENDER,
        Destination={"ToAddresses": ["ann@example.net"]},
        Template="greet",
        TemplateData=data,
    )
    message = inbox.message(ok["MessageId"])
    assert (message["subject"], message["text"]) == ("Hi Ann", "Dear Ann, your code is X1")
    assert (message["template"], message["template_data"]) == ("greet", data)
    assert "rendering_failure" not in message
    # SES accepts the send and fails rendering later; the endpoint stores the
    # message with the failure noted.
    failed = ses.send_templated_email(
        Source=SENDER,
        Destination={"ToAddresses": ["bob@example.net"]},
        Template="greet",
        TemplateData=json.dumps({"name": "Bob"}),
    )
    message = inbox.message(failed["MessageId"])
    assert message["rendering_failure"] == "Attribute 'code' is not present in the rendering data."
    missing = error_of(
        ses.send_templated_email,
        Source=SENDER,
        Destination={"ToAddresses": ["a@example.net"]},
        Template="absent",
        TemplateData="{}",
    )
    assert missing["Error"]["Code"] == "TemplateDoesNotExist"


def test_send_bulk_templated_email_reports_each_destination(ses, inbox):
    ses.create_template(
        Template={"TemplateName": "bulk", "SubjectPart": "For {{name}}", "TextPart": "{{greeting}}"}
    )
    reply = ses.send_bulk_templated_email(
        Source=SENDER,
        Template="bulk",
        DefaultTemplateData=json.dumps({"name": "friend", "greeting": "Hello"}),
        Destinations=[
            {
                "Destination": {"ToAddresses": ["one@example.net"]},
                "ReplacementTemplateData": json.dumps({"name": "One"}),
            },
            {"Destination": {"ToAddresses": ["two@example.net"]}},
            {"Destination": {"ToAddresses": [f"m{i}@example.net" for i in range(51)]}},
        ],
    )
    statuses = reply["Status"]
    assert [s["Status"] for s in statuses] == ["Success", "Success", "InvalidParameterValue"]
    first = inbox.message(statuses[0]["MessageId"])
    second = inbox.message(statuses[1]["MessageId"])
    assert (first["subject"], first["text"]) == ("For One", "Hello")
    assert (second["subject"], second["to"]) == ("For friend", ["two@example.net"])
    missing = error_of(
        ses.send_bulk_templated_email,
        Source=SENDER,
        Template="absent",
        DefaultTemplateData="{}",
        Destinations=[{"Destination": {"ToAddresses": ["a@example.net"]}}],
    )
    assert missing["Error"]["Code"] == "TemplateDoesNotExist"


def test_identities(ses):
    ses.verify_email_identity(EmailAddress="new@example.org")
    ses.verify_email_address(EmailAddress="old-style@example.org")
    ses.verify_domain_identity(Domain="example.org")
    emails = ses.list_identities(IdentityType="EmailAddress")["Identities"]
    domains = ses.list_identities(IdentityType="Domain")["Identities"]
    assert {"new@example.org", "old-style@example.org", SENDER} <= set(emails)
    assert "example.org" in domains and "new@example.org" not in domains
    attributes = ses.get_identity_verification_attributes(
        Identities=["new@example.org", "example.org", "unknown@example.org"]
    )["VerificationAttributes"]
    assert attributes["new@example.org"] == {"VerificationStatus": "Success"}
    assert attributes["example.org"]["VerificationStatus"] == "Success"
    assert attributes["example.org"]["VerificationToken"]
    assert "unknown@example.org" not in attributes
    ses.delete_identity(Identity="new@example.org")
    assert "new@example.org" not in ses.list_identities()["Identities"]
    bad = error_of(ses.verify_email_identity, EmailAddress="not-an-address")
    assert bad["Error"]["Code"] == "InvalidParameterValue"


def test_list_identities_pages(ses):
    for i in range(5):
        ses.verify_email_identity(EmailAddress=f"page{i}@paging.example")
    paginator = ses.get_paginator("list_identities")
    pages = list(paginator.paginate(IdentityType="EmailAddress", PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 3
    names = [name for page in pages for name in page["Identities"]]
    assert len(names) == len(set(names))
    assert {f"page{i}@paging.example" for i in range(5)} <= set(names)


def test_send_quota_and_statistics(ses):
    ses.send_email(**simple(["stats@example.net", "stats2@example.net"]))
    quota = ses.get_send_quota()
    assert quota["Max24HourSend"] == -1.0
    assert quota["MaxSendRate"] == -1.0
    assert quota["SentLast24Hours"] >= 2
    points = ses.get_send_statistics()["SendDataPoints"]
    assert points and points[-1]["DeliveryAttempts"] >= 2
    assert points[-1]["Timestamp"].minute % 15 == 0
    assert sum(p["Rejects"] for p in points) >= 0


def raw_post(ses, body):
    """A signed v1 request that botocore would not build; (status, text)."""
    import http.client

    from sesclient.sigv4 import sign_request

    class Keys:
        access_key_id = ses._request_signer._credentials.access_key
        secret_access_key = ses._request_signer._credentials.secret_key
        session_token = None

    url = ses.meta.endpoint_url + "/"
    headers = sign_request(
        "POST",
        url,
        {"Content-Type": "application/x-www-form-urlencoded"},
        body,
        credentials=Keys(),
        region="us-east-1",
        service="ses",
    )
    host = url.split("//")[1].split("/")[0]
    connection = http.client.HTTPConnection(host, timeout=5)
    try:
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_missing_parameter_is_a_validation_error(ses):
    status, text = raw_post(ses, b"Action=SendEmail&Version=2010-12-01&Source=a%40example.com")
    assert status == 400
    assert text.startswith("<ErrorResponse")
    assert "<Code>ValidationError</Code>" in text


def test_bogus_action_is_invalid_action(ses):
    status, text = raw_post(ses, b"Action=LaunchRockets&Version=2010-12-01")
    assert status == 400
    assert "<Code>InvalidAction</Code>" in text
    assert "LaunchRockets" in text


def test_unknown_and_unimplemented_actions(ses):
    response = error_of(ses.list_configuration_sets)
    assert response["Error"]["Code"] == "InvalidAction"
    assert "ListConfigurationSets" in response["Error"]["Message"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The connection stays usable and the endpoint keeps serving.
    assert ses.get_send_quota()["ResponseMetadata"]["HTTPStatusCode"] == 200
