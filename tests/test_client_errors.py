"""Error paths of the clients, with respx standing in for SES.

Every error class, what is retried and what is not, clock-skew correction,
unknown outcomes, validation before any request, and secrets kept out of
logs, reprs and exception text.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
import respx

import sesclient
from sesclient import (
    AsyncSESClient,
    Credentials,
    RetryPolicy,
    SESClient,
)

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY"
TOKEN = "FwoGZXIvYXdzEBYaDSESSIONTOKENVALUE"
V1 = "https://email.us-east-1.amazonaws.com/"
V2_SEND = "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails"
FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


def client(api="v2", retries=FAST, **kwargs):
    return SESClient(
        "us-east-1", Credentials("AKIDEXAMPLE", SECRET, TOKEN), api=api, retries=retries, **kwargs
    )


def v1_error(code, message, status=400, fault="Sender"):
    body = (
        '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error>'
        f"<Type>{fault}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>req-err</RequestId></ErrorResponse>"
    )
    return httpx.Response(status, content=body.encode())


def v2_error(code, message, status=400):
    return httpx.Response(
        status,
        json={"message": message},
        headers={
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/",
            "x-amzn-RequestId": "r",
        },
    )


V2_OK = httpx.Response(200, json={"MessageId": "m-1"}, headers={"x-amzn-RequestId": "req-1"})
V1_OK = httpx.Response(
    200,
    content=b'<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendEmailResult>'
    b"<MessageId>m-1</MessageId></SendEmailResult><ResponseMetadata><RequestId>req-1</RequestId>"
    b"</ResponseMetadata></SendEmailResponse>",
)


def simple(c):
    return c.send_email(from_addr="a@example.com", to="b@example.com", subject="s", text="t")


V1_CASES = [
    ("MessageRejected", "Email address is not verified.", sesclient.MessageRejected),
    ("MailFromDomainNotVerifiedException", "no", sesclient.MailFromDomainNotVerified),
    ("ConfigurationSetDoesNotExist", "no set", sesclient.ConfigurationSetDoesNotExist),
    ("TemplateDoesNotExist", "Template T does not exist.", sesclient.TemplateDoesNotExist),
    ("AccountSendingPausedException", "paused", sesclient.AccountSendingPaused),
    ("LimitExceeded", "too many templates", sesclient.LimitExceeded),
    ("Throttling", "Daily message quota exceeded.", sesclient.DailyQuotaExceeded),
    ("SignatureDoesNotMatch", "The request signature ...", sesclient.SignatureDoesNotMatch),
    ("InvalidClientTokenId", "The security token is invalid.", sesclient.InvalidCredentials),
    ("AccessDenied", "not allowed", sesclient.AccessDenied),
]


@pytest.mark.parametrize(("code", "message", "cls"), V1_CASES)
def test_v1_errors_map_to_shared_classes(code, message, cls):
    with respx.mock:
        route = respx.post(V1).mock(return_value=v1_error(code, message))
        with pytest.raises(cls) as info:
            simple(client("v1"))
    error = info.value
    assert isinstance(error, sesclient.SESError)
    assert (error.code, error.message, error.status_code) == (code, message, 400)
    assert error.request_id == "req-err" and error.type == "Sender"
    assert error.response["Error"] == {"Code": code, "Message": message, "Type": "Sender"}
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert route.call_count == 1  # none of these is retried


V2_CASES = [
    ("MessageRejected", "Email address is not verified.", sesclient.MessageRejected, 400),
    ("MailFromDomainNotVerifiedException", "no", sesclient.MailFromDomainNotVerified, 400),
    ("NotFoundException", "Template T does not exist.", sesclient.TemplateDoesNotExist, 404),
    ("NotFoundException", "Configuration set cs does not exist.", sesclient.NotFound, 404),
    ("SendingPausedException", "paused", sesclient.AccountSendingPaused, 400),
    ("LimitExceededException", "Daily message quota exceeded.", sesclient.DailyQuotaExceeded, 400),
    ("InvalidSignatureException", "Signature mismatch", sesclient.SignatureDoesNotMatch, 403),
    ("UnrecognizedClientException", "bad token", sesclient.InvalidCredentials, 403),
    ("BadRequestException", "bad", sesclient.SESError, 400),
]


@pytest.mark.parametrize(("code", "message", "cls", "status"), V2_CASES)
def test_v2_errors_map_to_shared_classes(code, message, cls, status):
    with respx.mock:
        route = respx.post(V2_SEND).mock(return_value=v2_error(code, message, status))
        with pytest.raises(cls) as info:
            simple(client("v2"))
    assert info.value.code == code and info.value.message == message
    assert info.value.status_code == status and info.value.request_id == "r"
    assert info.value.response["Error"]["Code"] == code
    assert route.call_count == 1


def test_configuration_set_error_is_not_found_in_both_apis():
    assert issubclass(sesclient.ConfigurationSetDoesNotExist, sesclient.NotFound)
    assert issubclass(sesclient.TemplateDoesNotExist, sesclient.NotFound)


@pytest.mark.parametrize(
    ("api", "failure"),
    [
        ("v1", v1_error("Throttling", "Maximum sending rate exceeded.")),
        ("v1", v1_error("ServiceUnavailable", "down", 503, "Receiver")),
        ("v2", v2_error("TooManyRequestsException", "Too many requests.", 429)),
        ("v2", v2_error("LimitExceededException", "Maximum sending rate exceeded.")),
        ("v2", httpx.Response(500, content=b"")),
        ("v2", httpx.Response(502, content=b"<html>bad gateway</html>")),
        ("v2", httpx.Response(504, content=b"")),
    ],
)
def test_transient_failures_are_retried_then_succeed(api, failure):
    url, ok = (V1, V1_OK) if api == "v1" else (V2_SEND, V2_OK)
    with respx.mock:
        route = respx.post(url).mock(side_effect=[failure, failure, ok])
        result = simple(client(api))
    assert result.message_id == "m-1"
    assert route.call_count == 3
    # every attempt is signed afresh
    dates = {call.request.headers["authorization"] for call in route.calls}
    assert len(dates) >= 1


def test_retries_stop_at_max_attempts():
    with respx.mock:
        route = respx.post(V2_SEND).mock(
            return_value=v2_error("TooManyRequestsException", "slow", 429)
        )
        with pytest.raises(sesclient.Throttling) as info:
            simple(client("v2", retries=RetryPolicy(max_attempts=4, base_delay=0)))
    assert route.call_count == 4
    assert not info.value.daily_quota_exceeded


def test_daily_quota_is_never_retried():
    with respx.mock:
        route = respx.post(V1).mock(
            return_value=v1_error("Throttling", "Daily message quota exceeded.")
        )
        with pytest.raises(sesclient.Throttling) as info:
            simple(client("v1"))
    assert info.value.daily_quota_exceeded
    assert route.call_count == 1


def test_retry_attempts_are_reported_in_response_metadata():
    with respx.mock:
        respx.post(V2_SEND).mock(side_effect=[httpx.Response(503), V2_OK])
        response = client().v2.send_email(
            FromEmailAddress="a@example.com",
            Destination={"ToAddresses": ["b@example.com"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
        )
    assert response["MessageId"] == "m-1"
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert response["ResponseMetadata"]["RequestId"] == "req-1"


def test_connection_refused_before_sending_is_retried():
    with respx.mock:
        route = respx.post(V2_SEND).mock(
            side_effect=[httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), V2_OK]
        )
        assert simple(client()).message_id == "m-1"
    assert route.call_count == 3


def test_connection_failures_exhausting_retries_raise_connection_failed():
    with respx.mock:
        respx.post(V2_SEND).mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(sesclient.ConnectionFailed, match="before the request was sent"):
            simple(client())


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed"), httpx.ReadError("reset")],
)
def test_send_with_lost_reply_is_unknown_and_not_retried(failure):
    with respx.mock:
        route = respx.post(V2_SEND).mock(side_effect=[failure, V2_OK])
        with pytest.raises(sesclient.SendOutcomeUnknown) as info:
            simple(client())
    assert route.call_count == 1
    assert "may or may not" in str(info.value)


def test_unknown_outcome_retry_is_opt_in():
    policy = RetryPolicy(max_attempts=3, base_delay=0, retry_unknown_outcome=True)
    with respx.mock:
        route = respx.post(V2_SEND).mock(side_effect=[httpx.ReadTimeout("slow"), V2_OK])
        assert simple(client(retries=policy)).message_id == "m-1"
    assert route.call_count == 2


def test_reads_are_retried_after_a_lost_reply():
    url = "https://email.us-east-1.amazonaws.com/v2/email/account"
    with respx.mock:
        route = respx.get(url).mock(
            side_effect=[
                httpx.ReadTimeout("slow"),
                httpx.Response(200, json={"SendingEnabled": True}),
            ]
        )
        assert client().v2.get_account()["SendingEnabled"] is True
    assert route.call_count == 2


def test_clock_skew_is_learnt_from_the_date_header_and_retried_once():
    server_now = datetime.now(timezone.utc) + timedelta(hours=2)
    skewed = v1_error("RequestExpired", "Request has expired.", 400)
    skewed.headers["Date"] = format_datetime(server_now, usegmt=True)
    c = client("v1", retries=RetryPolicy(max_attempts=1))
    with respx.mock:
        route = respx.post(V1).mock(side_effect=[skewed, V1_OK])
        assert simple(c).message_id == "m-1"
    first, second = (call.request.headers["x-amz-date"] for call in route.calls)
    stamp = datetime.strptime(second, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert abs((stamp - server_now).total_seconds()) < 60
    assert first != second
    assert route.call_count == 2


def test_clock_skew_v2_signature_expired():
    server_now = datetime.now(timezone.utc) - timedelta(minutes=30)
    expired = v2_error(
        "InvalidSignatureException",
        "Signature expired: 20260101T000000Z is now earlier than ...",
        403,
    )
    expired.headers["Date"] = format_datetime(server_now, usegmt=True)
    with respx.mock:
        route = respx.post(V2_SEND).mock(side_effect=[expired, expired, V2_OK])
        with pytest.raises(sesclient.RequestExpired):
            simple(client("v2", retries=RetryPolicy(max_attempts=1)))
    assert route.call_count == 2  # corrected once, not again


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to": "b@example.com", "text": "t", "subject": "s", "from_addr": ""}, "from_addr"),
        ({"from_addr": "a@example.com", "to": "", "text": "t", "subject": "s"}, "to"),
        ({"from_addr": "a@example.com", "to": "not-an-address", "text": "t", "subject": "s"}, "to"),
        (
            {
                "from_addr": "a@example.com",
                "to": "b@example.com",
                "subject": "x\r\nBcc: e@x.com",
                "text": "t",
            },
            "subject",
        ),
        (
            {
                "from_addr": "a@example.com",
                "to": [f"u{i}@example.com" for i in range(51)],
                "subject": "s",
                "text": "t",
            },
            "to",
        ),
        ({"from_addr": "a@example.com", "to": "b@example.com", "subject": "s"}, None),
        (
            {"from_addr": "a@example.com", "to": "b@example.com", "template": "T", "subject": "s"},
            None,
        ),
    ],
)
def test_bad_input_fails_before_any_request(kwargs, field):
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(V2_SEND).mock(return_value=V2_OK)
        with pytest.raises(sesclient.SESValidationError) as info:
            client().send_email(**kwargs)
    assert route.call_count == 0
    if field:
        assert info.value.field.startswith(field)


def test_low_level_validation_names_the_parameter_path():
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(V1).mock(return_value=V1_OK)
        with pytest.raises(sesclient.SESValidationError) as info:
            client("v1").v1.send_email(
                Source="a@example.com",
                Destination={"ToAddresses": "b@example.com"},
                Message={"Subject": {"Data": "s"}},
            )
    text = str(info.value)
    assert "Invalid type for parameter Destination.ToAddresses" in text
    assert 'Missing required parameter in Message: "Body"' in text
    assert info.value.field == "Destination.ToAddresses"
    assert route.call_count == 0


def test_unknown_operation_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no operation"):
        client().v2.send_emial  # noqa: B018


def test_secrets_never_in_logs_reprs_or_errors(caplog):
    caplog.set_level(logging.DEBUG)
    c = client()
    with respx.mock:
        respx.post(V2_SEND).mock(
            side_effect=[httpx.Response(503), v2_error("InvalidSignatureException", "bad sig", 403)]
        )
        with pytest.raises(sesclient.SESError) as info:
            simple(c)
    texts = [
        caplog.text,
        repr(c),
        str(c._core.credentials),
        repr(Credentials("AKIDEXAMPLE", SECRET, TOKEN)),
        str(info.value),
        repr(info.value),
        repr(info.value.response),
    ]
    assert "attempt=1 status=503" in caplog.text
    for text in texts:
        assert SECRET not in text
        assert TOKEN not in text
        assert "Signature=" not in text


def test_async_client_shares_the_behaviour():
    async def main():
        # respx patches httpx's default transport, so hand the client one that uses it.
        async with AsyncSESClient(
            "us-east-1",
            Credentials("AKIDEXAMPLE", SECRET),
            retries=FAST,
            http_client=httpx.AsyncClient(),
        ) as c:
            with respx.mock:
                route = respx.post(V2_SEND).mock(side_effect=[httpx.Response(503), V2_OK])
                result = await c.send_email(
                    from_addr="a@example.com", to=["b@example.com"], subject="s", html="<b>x</b>"
                )
                assert route.call_count == 2
            with respx.mock:
                respx.post(V2_SEND).mock(side_effect=httpx.ReadTimeout("slow"))
                with pytest.raises(sesclient.SendOutcomeUnknown):
                    await c.send_email(
                        from_addr="a@example.com", to="b@example.com", subject="s", text="t"
                    )
            return result

    assert asyncio.run(main()).message_id == "m-1"


def test_retry_quota_limits_retry_storms():
    c = client(retries=RetryPolicy(max_attempts=3, base_delay=0))
    c._core.endpoints["v2"].quota._tokens = 5
    with respx.mock:
        route = respx.post(V2_SEND).mock(return_value=httpx.Response(503))
        with pytest.raises(sesclient.ServiceError):
            simple(c)
    assert route.call_count == 2  # one retry was affordable, the second was not
