"""Running the node against respx standing in for SES: requests, outputs, errors, pooling.

End-to-end runs against the local SES endpoint are in test_node_e2e.py; this
file covers what that endpoint cannot produce (lost replies, refused
connections, odd error codes) and the exact requests the node makes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from sesclient import RetryPolicy, SESValidationError
from sesclient.node import (
    EnvSecretStore,
    InMemorySecretStore,
    NodeConfigError,
    NodeError,
    SESEmailNode,
)
from sesclient.node._batch import send_all
from sesclient.node._error_map import map_send_error
from sesclient.node._render import OutgoingEmail

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRETzz"
OTHER_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
ONCE = RetryPolicy(max_attempts=1)
V1 = "https://email.{}.amazonaws.com/"
V2 = "https://email.{}.amazonaws.com/v2/email/outbound-emails"
V2_BULK = "https://email.{}.amazonaws.com/v2/email/outbound-bulk-emails"
ACCOUNT = "https://email.{}.amazonaws.com/v2/email/account"

CONFIG: dict[str, Any] = {
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "secret:ses-production",
    "endpoint_version": "SESv2 (API)",
    "location": "us-east-1",
    "from": "Shop <orders@example.com>",
    "to": "{{trigger.email}}",
    "subject": "Order {{workflow.last_order_id}}",
    "body": "<p>Hi {{trigger.customer_name}}</p>",
}
TEMPLATED: dict[str, Any] = {
    **{k: v for k, v in CONFIG.items() if k not in ("subject", "body")},
    "template_name": "OrderShipped",
    "template_variables": {
        "firstName": "{{trigger.customer_name}}",
        "orderId": "{{workflow.last_order_id}}",
    },
}
CONTEXT = {
    "trigger": {"customer_name": "Ann", "email": "ann@example.com"},
    "workflow": {"last_order_id": 10042},
}


def store() -> InMemorySecretStore:
    return InMemorySecretStore({"ses-production": SECRET, "other": OTHER_SECRET})


def make_node(**kwargs: Any) -> SESEmailNode:
    kwargs.setdefault("secrets", store())
    kwargs.setdefault("client_options", {"retries": ONCE})
    return SESEmailNode(**kwargs)


def v2_ok(message_id: str = "m-1") -> httpx.Response:
    return httpx.Response(
        200, json={"MessageId": message_id}, headers={"x-amzn-RequestId": "req-1"}
    )


def v1_ok(action: str = "SendEmail", message_id: str = "m-1") -> httpx.Response:
    body = (
        f'<{action}Response xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><{action}Result>'
        f"<MessageId>{message_id}</MessageId></{action}Result><ResponseMetadata>"
        f"<RequestId>req-1</RequestId></ResponseMetadata></{action}Response>"
    )
    return httpx.Response(200, content=body.encode())


def v1_error(code: str, message: str, status: int = 400) -> httpx.Response:
    body = (
        '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>req-err</RequestId></ErrorResponse>"
    )
    return httpx.Response(status, content=body.encode())


def v2_error(code: str, message: str, status: int = 400) -> httpx.Response:
    return httpx.Response(
        status,
        json={"message": message},
        headers={
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/",
            "x-amzn-RequestId": "req-err",
        },
    )


def v2_account(max_24h: float = 50000.0, sent: float = 0.0, rate: float = 1000.0) -> httpx.Response:
    quota = {"Max24HourSend": max_24h, "MaxSendRate": rate, "SentLast24Hours": sent}
    return httpx.Response(
        200,
        json={"SendQuota": quota, "SendingEnabled": True},
        headers={"x-amzn-RequestId": "req-account"},
    )


def v1_quota(max_24h: float = 50000.0, sent: float = 0.0, rate: float = 1000.0) -> httpx.Response:
    body = (
        '<GetSendQuotaResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
        f"<GetSendQuotaResult><Max24HourSend>{max_24h}</Max24HourSend>"
        f"<MaxSendRate>{rate}</MaxSendRate><SentLast24Hours>{sent}</SentLast24Hours>"
        "</GetSendQuotaResult><ResponseMetadata><RequestId>req-account</RequestId>"
        "</ResponseMetadata></GetSendQuotaResponse>"
    )
    return httpx.Response(200, content=body.encode())


# -- requests and outputs ----------------------------------------------------------------


def test_v2_simple_html_email() -> None:
    node = make_node()
    with respx.mock:
        route = respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        output = node.execute(CONFIG, CONTEXT)
    node.close()
    assert output == {
        "message_id": "m-1",
        "request_id": "req-1",
        "api": "v2",
        "region": "us-east-1",
        "recipients": ["ann@example.com"],
    }
    sent = json.loads(route.calls[0].request.content)
    assert sent["FromEmailAddress"] == "Shop <orders@example.com>"
    assert sent["Destination"] == {"ToAddresses": ["ann@example.com"]}
    simple = sent["Content"]["Simple"]
    assert simple["Subject"]["Data"] == "Order 10042"
    assert simple["Body"]["Html"]["Data"] == "<p>Hi Ann</p>"
    assert simple["Body"]["Text"]["Data"] == "Hi Ann"
    auth = route.calls[0].request.headers["authorization"]
    assert "Credential=AKIAIOSFODNN7EXAMPLE/" in auth and "/us-east-1/ses/aws4_request" in auth


def test_v1_templated_email_in_another_region() -> None:
    node = make_node()
    config = {**TEMPLATED, "endpoint_version": "v1", "location": "ap-southeast-2"}
    with respx.mock:
        route = respx.post(V1.format("ap-southeast-2")).mock(
            return_value=v1_ok("SendTemplatedEmail")
        )
        output = node.execute(config, CONTEXT)
    node.close()
    assert output["api"] == "v1" and output["region"] == "ap-southeast-2"
    form = parse_qs(route.calls[0].request.content.decode())
    assert form["Action"] == ["SendTemplatedEmail"]
    assert form["Template"] == ["OrderShipped"]
    assert json.loads(form["TemplateData"][0]) == {"firstName": "Ann", "orderId": 10042}
    assert form["Destination.ToAddresses.member.1"] == ["ann@example.com"]


def test_v2_templated_email() -> None:
    node = make_node()
    with respx.mock:
        route = respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        node.execute(TEMPLATED, CONTEXT)
    node.close()
    template = json.loads(route.calls[0].request.content)["Content"]["Template"]
    assert template["TemplateName"] == "OrderShipped"
    assert json.loads(template["TemplateData"]) == {"firstName": "Ann", "orderId": 10042}


def test_plus_addresses_and_long_bodies_travel_in_the_body_not_the_url() -> None:
    node = make_node()
    config = {
        **CONFIG,
        "endpoint_version": "v1",
        "to": "ann+orders@example.com",
        "body": "x" * 20000,
    }
    with respx.mock:
        route = respx.post(V1.format("us-east-1")).mock(return_value=v1_ok())
        node.execute(config, CONTEXT)
    node.close()
    request = route.calls[0].request
    assert request.url.query == b""
    form = parse_qs(request.content.decode())
    assert form["Destination.ToAddresses.member.1"] == ["ann+orders@example.com"]


def test_invalid_config_fails_before_any_request() -> None:
    node = make_node()
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        with pytest.raises(NodeConfigError) as caught:
            node.execute({**CONFIG, "to": "nope"}, CONTEXT)
        with pytest.raises(NodeError) as missing:
            node.execute({**CONFIG, "to": "{{trigger.nope}}"}, CONTEXT)
    assert route.call_count == 0
    assert caught.value.errors[0].label == "To"
    assert missing.value.code == "MissingValue"


# -- pooled clients ------------------------------------------------------------------------


def test_clients_are_pooled_per_credentials_region_version_and_endpoint() -> None:
    node = make_node()
    with respx.mock:
        respx.post(url__regex=r"https://email\.[a-z0-9-]+\.amazonaws\.com/.*").mock(
            side_effect=lambda request: v1_ok() if request.url.path == "/" else v2_ok()
        )
        respx.post(url__startswith="http://127.0.0.1:8005/").mock(return_value=v2_ok())
        node.execute(CONFIG, CONTEXT)
        node.execute(CONFIG, CONTEXT)
        assert len(node._clients) == 1
        first = next(iter(node._clients.values()))
        node.execute({**CONFIG, "location": "eu-west-1"}, CONTEXT)
        node.execute({**CONFIG, "endpoint_version": "v1"}, CONTEXT)
        node.execute({**CONFIG, "secret_access_key": "secret:other"}, CONTEXT)
        node.execute({**CONFIG, "access_key_id": "AKIAI44QH8DHBEXAMPLE"}, CONTEXT)
        node.execute({**CONFIG, "endpoint_url": "http://127.0.0.1:8005"}, CONTEXT)
        assert len(node._clients) == 6
        assert first in node._clients.values()
        keys = repr(list(node._clients))
    assert SECRET not in keys and OTHER_SECRET not in keys
    clients = list(node._clients.values())
    node.close()
    assert node._clients == {}
    assert all(c._http.is_closed for c in clients)


def test_rotated_secret_gets_a_new_client() -> None:
    secrets = store()
    node = make_node(secrets=secrets)
    with respx.mock:
        route = respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        node.execute(CONFIG, CONTEXT)
        secrets.set("ses-production", OTHER_SECRET)
        node.execute(CONFIG, CONTEXT)
    assert len(node._clients) == 2
    node.close()
    first, second = (c.request.headers["authorization"] for c in route.calls)
    assert first.split("Signature=")[1] != second.split("Signature=")[1]


def test_context_managers_close_clients() -> None:
    with respx.mock:
        respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        with make_node() as node:
            node.execute(CONFIG, CONTEXT)
            (client,) = node._clients.values()
    assert client._http.is_closed


# -- SES errors -> node errors -------------------------------------------------------------

NOT_VERIFIED = (
    "Email address is not verified. The following identities failed the check in region US-EAST-1: "
)

ERROR_CASES = [
    # (api, response, code, field label, retryable, hint fragment)
    (
        "v1",
        v1_error("MessageRejected", NOT_VERIFIED + "ann@example.com"),
        "RecipientNotVerified",
        "To",
        False,
        "production access",
    ),
    (
        "v2",
        v2_error("MessageRejected", NOT_VERIFIED + "ann@example.com"),
        "RecipientNotVerified",
        "To",
        False,
        "production access",
    ),
    (
        "v1",
        v1_error("MessageRejected", NOT_VERIFIED + "orders@example.com, ann@example.com"),
        "SenderNotVerified",
        "From",
        False,
        "Verify the From address",
    ),
    (
        "v2",
        v2_error("MessageRejected", NOT_VERIFIED + "example.com"),
        "SenderNotVerified",
        "From",
        False,
        "its domain",
    ),
    (
        "v1",
        v1_error("MailFromDomainNotVerifiedException", "MAIL FROM domain not verified"),
        "SenderNotVerified",
        "From",
        False,
        "MAIL FROM",
    ),
    (
        "v2",
        v2_error("MailFromDomainNotVerifiedException", "not verified"),
        "SenderNotVerified",
        "From",
        False,
        "MAIL FROM",
    ),
    (
        "v1",
        v1_error("MessageRejected", "Message length is more than 10485760 bytes long"),
        "MessageRejected",
        None,
        False,
        "content",
    ),
    (
        "v1",
        v1_error("Throttling", "Maximum sending rate exceeded."),
        "Throttled",
        None,
        True,
        "higher maximum send rate",
    ),
    (
        "v2",
        v2_error("TooManyRequestsException", "Too many requests.", 429),
        "Throttled",
        None,
        True,
        "concurrency",
    ),
    (
        "v2",
        v2_error("LimitExceededException", "Maximum sending rate exceeded."),
        "Throttled",
        None,
        True,
        "in a moment",
    ),
    (
        "v1",
        v1_error("Throttling", "Daily message quota exceeded."),
        "DailyQuotaExceeded",
        None,
        False,
        "sending quota",
    ),
    (
        "v2",
        v2_error("LimitExceededException", "Daily message quota exceeded."),
        "DailyQuotaExceeded",
        None,
        False,
        "24-hour",
    ),
    (
        "v1",
        v1_error(
            "InvalidClientTokenId", "The security token included in the request is invalid.", 403
        ),
        "InvalidCredentials",
        "AWS SES Key ID",
        False,
        "IAM",
    ),
    (
        "v2",
        v2_error(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            403,
        ),
        "InvalidCredentials",
        "AWS SES Key ID",
        False,
        "IAM",
    ),
    (
        "v1",
        v1_error(
            "SignatureDoesNotMatch", "The request signature we calculated does not match", 403
        ),
        "InvalidCredentials",
        "AWS Secret Access Key",
        False,
        "stored secret",
    ),
    (
        "v2",
        v2_error(
            "InvalidSignatureException", "The request signature we calculated does not match", 403
        ),
        "InvalidCredentials",
        "AWS Secret Access Key",
        False,
        "stored secret",
    ),
    (
        "v1",
        v1_error("AccessDenied", "User is not authorized to perform ses:SendEmail", 403),
        "AccessDenied",
        "AWS SES Key ID",
        False,
        "permission",
    ),
    (
        "v1",
        v1_error("TemplateDoesNotExist", "Template OrderShipped does not exist."),
        "TemplateNotFound",
        "Template Name",
        False,
        "Create the template",
    ),
    (
        "v2",
        v2_error("NotFoundException", "Template OrderShipped does not exist.", 404),
        "TemplateNotFound",
        "Template Name",
        False,
        "us-east-1",
    ),
    (
        "v2",
        v2_error("NotFoundException", "Configuration set cs does not exist.", 404),
        "NotFound",
        None,
        False,
        "names",
    ),
    (
        "v2",
        v2_error("SendingPausedException", "Sending is paused for this account."),
        "SendingPaused",
        None,
        False,
        "resume",
    ),
    ("v1", v1_error("LimitExceeded", "too many"), "LimitExceeded", None, False, "increase"),
    ("v1", v1_error("ServiceUnavailable", "down", 503), "ServiceUnavailable", None, True, "later"),
    ("v2", v2_error("BadRequestException", "odd"), "SESError", None, False, "settings"),
    ("v2", httpx.ReadTimeout("no reply"), "OutcomeUnknown", None, False, "duplicate"),
    ("v1", httpx.RemoteProtocolError("closed"), "OutcomeUnknown", None, False, "Do not blindly"),
    ("v2", httpx.ConnectError("refused"), "ConnectionFailed", None, True, "Endpoint URL"),
]


@pytest.mark.parametrize(("api", "response", "code", "field", "retryable", "hint"), ERROR_CASES)
def test_ses_errors_become_node_errors_with_hints(
    api: str, response: Any, code: str, field: str | None, retryable: bool, hint: str
) -> None:
    node = make_node()
    config = TEMPLATED if code == "TemplateNotFound" else CONFIG
    config = {**config, "endpoint_version": api}
    url = (V1 if api == "v1" else V2).format("us-east-1")
    with respx.mock:
        if isinstance(response, Exception):
            respx.post(url).mock(side_effect=response)
        else:
            respx.post(url).mock(return_value=response)
        with pytest.raises(NodeError) as caught:
            node.execute(config, CONTEXT)
    node.close()
    error = caught.value
    assert (error.code, error.field, error.retryable) == (code, field, retryable)
    assert hint in error.hint
    if not isinstance(response, Exception):
        assert error.request_id == "req-err"
    data = error.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["code"] == code and data["hint"] == error.hint
    assert error.__cause__ is not None


def test_client_side_refusals_name_the_node_field() -> None:
    from sesclient import TemplateDoesNotExist

    for field, label in [
        ("from_addr", "From"),
        ("to[3]", "To"),
        ("template_data", "Template Variables"),
        (None, None),
    ]:
        error = map_send_error(
            SESValidationError("bad", field=field),
            from_addr="a@example.com",
            region="us-east-1",
            api="v2",
        )
        assert (error.code, error.field) == ("InvalidInput", label)
    error = map_send_error(
        TemplateDoesNotExist(f"no template {SECRET}", request_id="r9"),
        from_addr="a@example.com",
        region="eu-west-1",
        api="v1",
        secret=SECRET,
    )
    assert SECRET not in error.message and SECRET not in str(error) and "[secret]" in error.message
    assert error.request_id == "r9" and "eu-west-1" in error.hint


def test_unverified_identities_without_a_list_count_as_recipients() -> None:
    from sesclient import MessageRejected

    error = map_send_error(
        MessageRejected("Email address is not verified."),
        from_addr="Shop <orders@example.com>",
        region="us-east-1",
        api="v2",
    )
    assert error.code == "RecipientNotVerified"


# -- secrets -----------------------------------------------------------------------------


def test_secret_store_errors() -> None:
    node = SESEmailNode()
    with pytest.raises(NodeError) as caught:
        node.execute(CONFIG, CONTEXT)
    assert caught.value.code == "NoSecretStore"
    with pytest.raises(NodeError) as caught:
        node.execute({**CONFIG, "secret_access_key": "secret:nope"}, CONTEXT, secrets=store())
    error = caught.value
    assert error.code == "SecretNotFound" and error.field == "AWS Secret Access Key"
    assert "secret:nope" in error.message
    with pytest.raises(NodeError) as caught:
        node.execute(CONFIG, CONTEXT, secrets=InMemorySecretStore({"ses-production": "  "}))
    assert caught.value.code == "SecretEmpty"


def test_a_foreign_store_error_text_is_not_repeated() -> None:
    class LeakyStore:
        def get(self, name: str) -> str:
            raise KeyError(f"{name} (did you mean the value {SECRET}?)")

    with pytest.raises(NodeError) as caught:
        SESEmailNode(secrets=LeakyStore()).execute(CONFIG, CONTEXT)
    assert caught.value.code == "SecretNotFound"
    assert SECRET not in str(caught.value) and "ses-production" in str(caught.value)


def test_env_secret_store_feeds_the_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESCLIENT_SECRET_SES_PRODUCTION", SECRET + "\n")
    node = make_node(secrets=EnvSecretStore())
    with respx.mock:
        route = respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        node.execute(CONFIG, CONTEXT)
    node.close()
    assert route.call_count == 1
    monkeypatch.delenv("SESCLIENT_SECRET_SES_PRODUCTION")
    with pytest.raises(NodeError) as caught:
        node.execute(CONFIG, CONTEXT)
    assert "SESCLIENT_SECRET_SES_PRODUCTION" in caught.value.message


def await_batch(node: SESEmailNode, items: list[dict]) -> list[dict]:
    async def main() -> list[dict]:
        async with httpx.AsyncClient() as http:
            node.async_client_options["http_client"] = http
            try:
                return await node.aexecute_batch(CONFIG, items)
            finally:
                await node.aclose()
                del node.async_client_options["http_client"]

    return asyncio.run(main())


def test_the_secret_never_appears_in_outputs_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = store()
    node = make_node(secrets=secrets)
    texts: list[str] = [repr(node), repr(secrets), str(CONFIG)]
    with respx.mock:
        route = respx.post(V2.format("us-east-1"))
        route.mock(return_value=v2_ok())
        texts.append(repr(node.execute(CONFIG, CONTEXT)))
        texts.append(repr(node._clients))
        for response in (
            v2_error(
                "InvalidSignatureException",
                "The request signature we calculated does not match",
                403,
            ),
            v2_error("MessageRejected", f"odd echo of {SECRET}"),
        ):
            route.mock(return_value=response)
            with pytest.raises(NodeError) as caught:
                node.execute(CONFIG, CONTEXT)
            texts += [str(caught.value), repr(caught.value), json.dumps(caught.value.to_dict())]
        route.mock(return_value=v2_ok())
        respx.get(ACCOUNT.format("us-east-1")).mock(return_value=v2_account())
        results = await_batch(node, [CONTEXT, {"trigger": {}}])
        assert [r["ok"] for r in results] == [True, False]
        texts.append(json.dumps(results))
    for bad in (
        {**CONFIG, "secret_access_key": SECRET},
        {**CONFIG, "secret_access_key": {"secret": SECRET}},
    ):
        with pytest.raises(NodeConfigError) as caught:
            node.execute(bad, CONTEXT)
        texts += [str(caught.value), repr(caught.value), json.dumps(caught.value.to_dict())]
    node.close()
    texts.append(caplog.text)
    assert "sending simple email via v2 in us-east-1 to 1 recipient(s)" in caplog.text
    assert "InvalidCredentials" in caplog.text
    for text in texts:
        assert SECRET not in text


# -- async -------------------------------------------------------------------------------


def test_aexecute_pools_per_event_loop_and_closes() -> None:
    async def run(node: SESEmailNode) -> tuple[dict, dict, Any]:
        with respx.mock:
            respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
            respx.post(V1.format("us-east-1")).mock(
                return_value=v1_error("Throttling", "Daily message quota exceeded.")
            )
            first = await node.aexecute(CONFIG, CONTEXT)
            second = await node.aexecute(TEMPLATED, CONTEXT)
            with pytest.raises(NodeError) as caught:
                await node.aexecute({**CONFIG, "endpoint_version": "v1"}, CONTEXT)
            assert caught.value.code == "DailyQuotaExceeded"
        clients = dict(node._async_clients[asyncio.get_running_loop()])
        assert len(clients) == 2
        await node.aclose()
        assert node._async_clients.get(asyncio.get_running_loop()) is None
        return first, second, clients

    http = httpx.AsyncClient()  # respx patches httpx's default transport
    node = make_node(async_client_options={"http_client": http})
    first, second, _ = asyncio.run(run(node))
    asyncio.run(http.aclose())
    assert first["message_id"] == second["message_id"] == "m-1"
    assert first["api"] == "v2" and first["recipients"] == ["ann@example.com"]


def test_async_clients_are_made_per_loop_on_the_fast_transport() -> None:
    node = make_node()

    async def make() -> Any:
        from sesclient.node._validate import load_config

        client = node._async_client(load_config(CONFIG), SECRET)
        assert client is node._async_client(load_config(CONFIG), SECRET)
        return client

    async def both() -> None:
        first = await make()
        async with node:
            pass
        assert await make() is not first

    asyncio.run(both())
    one, two = asyncio.run(make()), asyncio.run(make())
    assert one is not two


# -- batches -----------------------------------------------------------------------------


class BulkEndpoint:
    """SendBulkEmail / SendBulkTemplatedEmail (and GetSendQuota) as respx side effects.

    Records each bulk call's request id and ``(address, template data)``
    entries; ``status(call number, address)`` decides each entry's fate:
    ``None`` for success, else ``(status, error)`` in the API's spelling.
    """

    def __init__(self, api: str, status: Any = None, quota: httpx.Response | None = None) -> None:
        self.api = api
        self.status = status or (lambda call, address: None)
        self.quota = quota or v1_quota()
        self.calls: list[tuple[str, str, str, list[tuple[str, Any]]]] = []

    def v2(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        entries = [
            (
                e["Destination"]["ToAddresses"][0],
                json.loads(
                    e["ReplacementEmailContent"]["ReplacementTemplate"]["ReplacementTemplateData"]
                ),
            )
            for e in body["BulkEmailEntries"]
        ]
        template = body["DefaultContent"]["Template"]["TemplateName"]
        request_id = self._record(body["FromEmailAddress"], template, entries)
        results = []
        for address, _ in entries:
            fate = self.status(len(self.calls), address)
            if fate is None:
                results.append({"Status": "SUCCESS", "MessageId": f"id-{address.split('@')[0]}"})
            else:
                results.append({"Status": fate[0], "Error": fate[1]})
        return httpx.Response(
            200,
            json={"BulkEmailEntryResults": results},
            headers={"x-amzn-RequestId": request_id},
        )

    def v1(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form["Action"] == "GetSendQuota":
            return self.quota
        assert form["Action"] == "SendBulkTemplatedEmail"
        entries = []
        n = 1
        while f"Destinations.member.{n}.Destination.ToAddresses.member.1" in form:
            prefix = f"Destinations.member.{n}."
            entries.append(
                (
                    form[prefix + "Destination.ToAddresses.member.1"],
                    json.loads(form[prefix + "ReplacementTemplateData"]),
                )
            )
            n += 1
        request_id = self._record(form["Source"], form["Template"], entries)
        members = ""
        for address, _ in entries:
            fate = self.status(len(self.calls), address)
            if fate is None:
                members += (
                    f"<member><Status>Success</Status>"
                    f"<MessageId>id-{address.split('@')[0]}</MessageId></member>"
                )
            else:
                members += f"<member><Status>{fate[0]}</Status><Error>{fate[1]}</Error></member>"
        body = (
            '<SendBulkTemplatedEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">'
            f"<SendBulkTemplatedEmailResult><Status>{members}</Status>"
            f"</SendBulkTemplatedEmailResult><ResponseMetadata><RequestId>{request_id}"
            "</RequestId></ResponseMetadata></SendBulkTemplatedEmailResponse>"
        )
        return httpx.Response(200, content=body.encode())

    def _record(self, source: str, template: str, entries: list[tuple[str, Any]]) -> str:
        request_id = f"bulk-{len(self.calls) + 1}"
        self.calls.append((request_id, source, template, entries))
        return request_id

    def mock(self, region: str = "us-east-1") -> respx.Route:
        """Mock the routes; returns the account route (v2) or the Query route (v1)."""
        if self.api == "v2":
            respx.post(V2_BULK.format(region)).mock(side_effect=self.v2)
            return respx.get(ACCOUNT.format(region)).mock(return_value=v2_account())
        return respx.post(V1.format(region)).mock(side_effect=self.v1)

    def request_of(self, address: str) -> str:
        (found,) = [c[0] for c in self.calls if any(a == address for a, _ in c[3])]
        return found


def rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "trigger": {"customer_name": f"c{i}", "email": f"user{i}@example.com"},
            "workflow": {"last_order_id": i},
        }
        for i in range(n)
    ]


def test_batch_reports_every_item() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        to = json.loads(request.content)["Destination"]["ToAddresses"][0]
        if to.startswith("unverified"):
            return v2_error("MessageRejected", NOT_VERIFIED + to)
        return v2_ok(f"id-{to.split('@')[0]}")

    items = rows(30)
    items[3] = {"trigger": {"customer_name": "x"}, "workflow": {"last_order_id": 3}}
    items[7]["trigger"]["email"] = "unverified7@example.com"
    items[11]["trigger"]["email"] = "line\r\nbreak@example.com"
    # respx patches httpx's default transport, so hand the async client one that uses it.
    http = httpx.AsyncClient()
    node = make_node(batch_concurrency=4, async_client_options={"http_client": http})
    with respx.mock:
        account = respx.get(ACCOUNT.format("us-east-1")).mock(return_value=v2_account())
        route = respx.post(V2.format("us-east-1")).mock(side_effect=answer)
        results = node.execute_batch(CONFIG, items)
    asyncio.run(http.aclose())
    # The quota is read once for the batch; each item with its own body is one SendEmail.
    assert account.call_count == 1
    assert route.call_count == 28
    assert [r["index"] for r in results] == list(range(30))
    assert json.loads(json.dumps(results)) == results
    failed = {r["index"]: r["error"]["code"] for r in results if not r["ok"]}
    assert failed == {3: "MissingValue", 7: "RecipientNotVerified", 11: "LineBreakInHeader"}
    assert results[7]["error"]["hint"] and results[7]["error"]["field"] == "To"
    assert results[7]["error"]["request_id"] == "req-err"
    assert results[0]["output"] == {
        "message_id": "id-user0",
        "request_id": "req-1",
        "api": "v2",
        "region": "us-east-1",
        "recipients": ["user0@example.com"],
    }
    assert results[29]["output"]["message_id"] == "id-user29"
    assert node._clients == {}  # the sync batch's client lived and died with the batch


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_a_template_batch_goes_out_50_to_a_bulk_call(api: str) -> None:
    rejected = "Email address is not verified. The following identities failed the check"

    def status(call: int, address: str) -> tuple[str, str] | None:
        if address.startswith("stranger"):
            code = "MESSAGE_REJECTED" if api == "v2" else "MessageRejected"
            return code, f"{rejected} in region US-EAST-1: {address}"
        return None

    endpoint = BulkEndpoint(api, status)
    items = rows(120)
    items[7]["trigger"]["email"] = "stranger7@example.org"
    items[64] = {"trigger": {"customer_name": "no email"}, "workflow": {"last_order_id": 64}}
    http = httpx.AsyncClient()
    node = make_node(async_client_options={"http_client": http})
    with respx.mock:
        quota = endpoint.mock()
        results = node.execute_batch({**TEMPLATED, "endpoint_version": api}, items)
    asyncio.run(http.aclose())

    assert len(endpoint.calls) == 3  # 119 items: 50 + 50 + 19
    assert all(len(entries) <= 50 for *_, entries in endpoint.calls)
    assert {(source, template) for _, source, template, _ in endpoint.calls} == {
        ("Shop <orders@example.com>", "OrderShipped")
    }
    sent = dict(entry for *_, entries in endpoint.calls for entry in entries)
    assert len(sent) == 119
    assert sent["user0@example.com"] == {"firstName": "c0", "orderId": 0}
    assert sent["user119@example.com"] == {"firstName": "c119", "orderId": 119}
    if api == "v2":
        assert quota.call_count == 1  # read once, for the whole batch
    else:  # the Query route carries the quota read and the three bulk calls
        assert quota.call_count == 4

    assert [r["index"] for r in results] == list(range(120))
    failed = {r["index"]: r["error"] for r in results if not r["ok"]}
    assert {i: e["code"] for i, e in failed.items()} == {
        7: "RecipientNotVerified",
        64: "MissingValue",
    }
    assert failed[7]["request_id"] == endpoint.request_of("stranger7@example.org")
    assert "production access" in failed[7]["hint"]
    for result in results:
        if result["ok"]:
            address = result["output"]["recipients"][0]
            assert result["output"] == {
                "message_id": f"id-{address.split('@')[0]}",
                "request_id": endpoint.request_of(address),
                "api": api,
                "region": "us-east-1",
                "recipients": [address],
            }
            assert address == f"user{result['index']}@example.com"


def test_a_batch_larger_than_the_daily_quota_sends_nothing() -> None:
    http = httpx.AsyncClient()
    node = make_node(async_client_options={"http_client": http})
    with respx.mock:
        account = respx.get(ACCOUNT.format("us-east-1")).mock(
            return_value=v2_account(max_24h=100, sent=95)
        )
        bulk = respx.post(V2_BULK.format("us-east-1")).mock(side_effect=BulkEndpoint("v2").v2)
        single = respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        refused = node.execute_batch(TEMPLATED, rows(6))
        assert (bulk.call_count, single.call_count) == (0, 0)
        # Exactly what is left goes out.
        fits = node.execute_batch(TEMPLATED, rows(5))
    asyncio.run(http.aclose())
    assert account.call_count == 2 and bulk.call_count == 1
    assert [r["index"] for r in refused] == list(range(6))
    errors = [r["error"] for r in refused]
    assert {(e["code"], e["retryable"], e["request_id"]) for e in errors} == {
        ("DailyQuotaExceeded", False, "req-account")
    }
    assert "6 recipient(s)" in errors[0]["message"] and "nothing was sent" in errors[0]["message"]
    assert "24-hour" in errors[0]["hint"]
    assert all(r["ok"] for r in fits)


def test_a_quota_that_runs_out_during_the_batch_fails_the_rest() -> None:
    def status(call: int, address: str) -> tuple[str, str] | None:
        if call == 2 and int(address.split("@")[0][4:]) >= 60:
            return "ACCOUNT_DAILY_QUOTA_EXCEEDED", "Daily message quota exceeded."
        return None

    endpoint = BulkEndpoint("v2", status)
    items = rows(120)
    # Two items to two recipients each: a later unit, one SendEmail each; never sent here.
    items += [
        {"trigger": {"customer_name": "pair", "email": f"p{i}@example.com, q{i}@example.com"}}
        for i in range(2)
    ]
    http = httpx.AsyncClient()
    node = make_node(async_client_options={"http_client": http})
    with respx.mock:
        endpoint.mock()
        single = respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        results = node.execute_batch(
            {**TEMPLATED, "template_variables": {"firstName": "{{trigger.customer_name}}"}},
            items,
            concurrency=1,  # one call at a time: the third is never made
        )
    asyncio.run(http.aclose())
    assert [len(entries) for *_, entries in endpoint.calls] == [50, 50]
    assert single.call_count == 0
    assert [r["ok"] for r in results] == [True] * 60 + [False] * 62
    for result in results[60:]:
        error = result["error"]
        assert (error["code"], error["retryable"]) == ("DailyQuotaExceeded", False)
        assert error["request_id"] == "bulk-2"  # the reply that stopped the run
    assert "quota" in results[121]["error"]["message"].lower()


def test_a_key_without_bulk_permission_is_told_which_one() -> None:
    http = httpx.AsyncClient()
    node = make_node(async_client_options={"http_client": http})
    with respx.mock:
        respx.get(ACCOUNT.format("us-east-1")).mock(return_value=v2_account())
        bulk = respx.post(V2_BULK.format("us-east-1")).mock(
            return_value=v2_error("AccessDeniedException", "not authorized: ses:SendBulkEmail", 403)
        )
        results = node.execute_batch(TEMPLATED, rows(70), concurrency=1)
    asyncio.run(http.aclose())
    # Account-wide: the first refusal stops the run instead of failing call after call.
    assert bulk.call_count == 1
    errors = [r["error"] for r in results]
    assert {(e["code"], e["field"], e["request_id"]) for e in errors} == {
        ("AccessDenied", "AWS SES Key ID", "req-err")
    }
    assert "ses:SendBulkEmail" in errors[0]["hint"] and "ses:SendEmail" in errors[0]["hint"]


def test_aexecute_batch_uses_the_pooled_client() -> None:
    http = httpx.AsyncClient()
    node = make_node(async_client_options={"http_client": http})

    async def main() -> list[dict]:
        with respx.mock:
            account = respx.get(ACCOUNT.format("us-east-1")).mock(return_value=v2_account())
            route = respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
            results = await node.aexecute_batch(CONFIG, [CONTEXT] * 5, concurrency=2)
            await node.aexecute(CONFIG, CONTEXT)
            assert (account.call_count, route.call_count) == (1, 6)
        assert len(node._async_clients[asyncio.get_running_loop()]) == 1
        await node.aclose()
        await http.aclose()
        return results

    results = asyncio.run(main())
    assert [r["ok"] for r in results] == [True] * 5
    assert {r["output"]["request_id"] for r in results} == {"req-1"}


def test_a_batch_without_permission_to_read_the_quota_still_sends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    http = httpx.AsyncClient()
    node = make_node(async_client_options={"http_client": http})
    with respx.mock:
        account = respx.get(ACCOUNT.format("us-east-1")).mock(
            return_value=v2_error("AccessDeniedException", "not allowed: ses:GetAccount", 403)
        )
        route = respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
        results = node.execute_batch(CONFIG, rows(3))
    asyncio.run(http.aclose())
    assert [r["ok"] for r in results] == [True] * 3
    assert route.call_count == 3
    # Read by the batch, and once more by the bulk engine, which has no rate to go by.
    assert account.call_count == 2
    assert "cannot read the send quota" in caplog.text


class _FakeOps:
    """``client.v2`` of :class:`_FakeClient`: GetAccount, SendBulkEmail, SendEmail."""

    def __init__(self, client: _FakeClient) -> None:
        self.client = client

    async def get_account(self) -> dict[str, Any]:
        self.client.log.append(("GetAccount", self.client.retries, None))
        quota = {"Max24HourSend": 1e6, "MaxSendRate": 1e4, "SentLast24Hours": 0}
        return {"SendQuota": quota, "ResponseMetadata": {"RequestId": "acct"}}

    async def send_bulk_email(self, **params: Any) -> dict[str, Any]:
        addresses = [e["Destination"]["ToAddresses"][0] for e in params["BulkEmailEntries"]]
        key = (params["FromEmailAddress"], params["DefaultContent"]["Template"]["TemplateName"])
        request_id = await self.client.call("SendBulkEmail", key, addresses)
        results = [{"Status": "SUCCESS", "MessageId": f"m-{a}"} for a in addresses]
        return {"BulkEmailEntryResults": results, "ResponseMetadata": {"RequestId": request_id}}

    async def send_email(self, **params: Any) -> dict[str, Any]:
        addresses = params["Destination"]["ToAddresses"]
        key = (params["FromEmailAddress"], None)
        request_id = await self.client.call("SendEmail", key, addresses)
        return {"MessageId": f"m-{addresses[0]}", "ResponseMetadata": {"RequestId": request_id}}


class _FakeClient:
    """An ``AsyncSESClient`` stand-in that logs each call and the calls in flight."""

    api = "v2"

    def __init__(self, fail_on: str = "", retries: int | None = None, shared: Any = None) -> None:
        self.retries = retries
        self.fail_on = fail_on
        # (operation, retries, (from, template) or None, addresses, request id), shared by views
        self.log: list[tuple] = shared.log if shared else []
        self.state = shared.state if shared else {"in_flight": 0, "peak": 0}
        self.v2 = _FakeOps(self)

    def with_options(self, *, retries: int | None = None) -> _FakeClient:
        return type(self)(self.fail_on, retries, self)

    async def call(self, operation: str, key: Any, addresses: list[str]) -> str:
        state = self.state
        state["in_flight"] += 1
        state["peak"] = max(state["peak"], state["in_flight"])
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if addresses[0] == self.fail_on:
                raise ZeroDivisionError("boom")
            request_id = f"r{len(self.log)}"
            self.log.append((operation, self.retries, key, addresses, request_id))
            return request_id
        finally:
            state["in_flight"] -= 1

    async def send_email(self, **kwargs: Any) -> Any:
        from sesclient import SendResult

        key = (kwargs["from_addr"], kwargs.get("template"))
        request_id = await self.call("send_email", key, list(kwargs["to"]))
        return SendResult(f"m-{kwargs['to'][0]}", request_id, "v2")


def test_send_all_groups_paces_and_keeps_order(caplog: pytest.LogCaptureFixture) -> None:
    a, b = "a@example.com", "b@example.com"
    emails = []
    for i in range(100):
        to = (f"u{i}@example.com",)
        kind = i % 5
        if kind == 0:  # several recipients: one request each, over the original client
            emails.append(OutgoingEmail(a, (*to, f"v{i}@example.com"), subject="s", text="t"))
        elif kind == 1:
            emails.append(OutgoingEmail(a, to, template="T1", template_data={"n": i}))
        elif kind == 2:
            emails.append(OutgoingEmail(b, to, template="T1", template_data={"n": i}))
        elif kind == 3:  # its own body: a SendEmail of the engine's
            emails.append(OutgoingEmail(a, to, subject=f"s{i}", text="t"))
        else:
            emails.append(OutgoingEmail(a, to, template="T2"))
    client = _FakeClient(fail_on="u50@example.com")
    outcomes = asyncio.run(send_all(client, emails, concurrency=3))

    assert len(outcomes) == 100
    assert isinstance(outcomes[50], ZeroDivisionError)
    assert "unexpected error sending a batch item" in caplog.text
    calls = {entry[4]: entry for entry in client.log if entry[0] != "GetAccount"}
    for i, (email, outcome) in enumerate(zip(emails, outcomes, strict=True)):
        if i == 50:
            continue
        assert outcome.message_id == f"m-{email.to[0]}"
        operation, retries, key, addresses, _ = calls[outcome.request_id]
        assert email.to[0] in addresses
        assert key == (email.from_addr, email.template)
        if len(email.to) > 1:
            assert (operation, retries) == ("send_email", None)  # the caller's retry policy
        elif email.template is None:
            assert (operation, retries) == ("SendEmail", 1)  # throttling goes to the engine
        else:
            assert (operation, retries) == ("SendBulkEmail", 1)
    # The quota is read once, with the caller's client.
    assert [entry[:2] for entry in client.log if entry[0] == "GetAccount"] == [("GetAccount", None)]
    bulk = [entry for entry in client.log if entry[0] == "SendBulkEmail"]
    assert [(entry[2], len(entry[3])) for entry in bulk] == [
        ((a, "T1"), 20),
        ((b, "T1"), 20),
        ((a, "T2"), 20),
    ]
    assert bulk[0][3] == [f"u{i}@example.com" for i in range(1, 100, 5)]  # in input order
    # Units take turns, in order of first appearance, never more than 3 requests in flight.
    order = [entry[2] if entry[0] != "send_email" else "several" for entry in client.log[1:]]
    runs = [key for n, key in enumerate(order) if n == 0 or order[n - 1] != key]
    assert runs == ["several", (a, "T1"), (b, "T1"), (a, None), (a, "T2")]
    assert client.state["peak"] == 3
    with pytest.raises(ValueError):
        asyncio.run(send_all(client, emails, concurrency=0))
    assert asyncio.run(send_all(client, [], concurrency=1)) == []


def test_a_batch_wide_refusal_skips_the_later_units() -> None:
    class Refusing(_FakeClient):
        async def call(self, operation: str, key: Any, addresses: list[str]) -> str:
            from sesclient import InvalidCredentials

            self.log.append((operation, self.retries, key, addresses, None))
            raise InvalidCredentials(
                "The security token included in the request is invalid.",
                code="UnrecognizedClientException",
                request_id="r-bad",
            )

    emails = [
        OutgoingEmail("a@example.com", (f"u{i}@example.com",), template=f"T{i % 2}")
        for i in range(10)
    ]
    client = Refusing()
    outcomes = asyncio.run(send_all(client, emails, concurrency=2))
    # The first unit's first call is refused; the engine stops, and the other unit is skipped.
    assert [entry[0] for entry in client.log] == ["GetAccount", "SendBulkEmail"]
    assert all(type(o).__name__ == "InvalidCredentials" for o in outcomes)
    errors = [
        map_send_error(o, from_addr="a@example.com", region="eu-west-1", api="v2") for o in outcomes
    ]
    assert {(e.code, e.field, e.request_id) for e in errors} == {
        ("InvalidCredentials", "AWS SES Key ID", "r-bad")
    }


BULK_OUTCOMES = [
    # (status, code, message, node code, field label, retryable)
    (
        "failed",
        "MESSAGE_REJECTED",
        NOT_VERIFIED + "ann@example.com",
        "RecipientNotVerified",
        "To",
        False,
    ),
    (
        "failed",
        "MessageRejected",
        NOT_VERIFIED + "orders@example.com",
        "SenderNotVerified",
        "From",
        False,
    ),
    ("failed", "MESSAGE_REJECTED", "Message contains a virus", "MessageRejected", None, False),
    ("failed", "MAIL_FROM_DOMAIN_NOT_VERIFIED", "not verified", "SenderNotVerified", "From", False),
    (
        "failed",
        "ACCOUNT_THROTTLED",
        "gave up after 8 attempts: ACCOUNT_THROTTLED",
        "Throttled",
        None,
        True,
    ),
    (
        "failed",
        "Throttling",
        "gave up after 8 attempts: Maximum sending rate exceeded.",
        "Throttled",
        None,
        True,
    ),
    (
        "failed",
        "TooManyRequestsException",
        "gave up after 8 attempts: slow down",
        "Throttled",
        None,
        True,
    ),
    (
        "failed",
        "DailyQuotaExceeded",
        "not sent: the run stopped early (the quota was used up)",
        "DailyQuotaExceeded",
        None,
        False,
    ),
    (
        "failed",
        "AccountDailyQuotaExceeded",
        "not sent: the run stopped early (x)",
        "DailyQuotaExceeded",
        None,
        False,
    ),
    (
        "failed",
        "InvalidClientTokenId",
        "not sent: the run stopped early (bad token)",
        "InvalidCredentials",
        "AWS SES Key ID",
        False,
    ),
    (
        "failed",
        "SignatureDoesNotMatch",
        "not sent: the run stopped early (bad signature)",
        "InvalidCredentials",
        "AWS Secret Access Key",
        False,
    ),
    (
        "failed",
        "TEMPLATE_NOT_FOUND",
        "not sent: the run stopped early (no template)",
        "TemplateNotFound",
        "Template Name",
        False,
    ),
    (
        "failed",
        "TemplateDoesNotExist",
        "not sent: the run stopped early (no template)",
        "TemplateNotFound",
        "Template Name",
        False,
    ),
    ("failed", "ACCOUNT_SENDING_PAUSED", "paused", "SendingPaused", None, False),
    (
        "failed",
        "TRANSIENT_FAILURE",
        "gave up after 8 attempts: TRANSIENT_FAILURE",
        "ServiceUnavailable",
        None,
        True,
    ),
    (
        "failed",
        "InternalFailure",
        "gave up after 8 attempts: oops",
        "ServiceUnavailable",
        None,
        True,
    ),
    (
        "failed",
        "ValidationError",
        "template_data: 300000 characters of JSON; SES accepts at most 262144",
        "InvalidInput",
        "Template Variables",
        False,
    ),
    ("failed", "ValidationError", "address: not an email address", "InvalidInput", "To", False),
    ("failed", "FAILED", "something else", "SESError", None, False),
    ("unknown", "SendOutcomeUnknown", "the connection was reset", "OutcomeUnknown", None, False),
    (
        "unknown",
        "MissingEntryResult",
        "SES's reply has no status for this recipient",
        "OutcomeUnknown",
        None,
        False,
    ),
]


@pytest.mark.parametrize(
    ("status", "code", "message", "node_code", "field", "retryable"), BULK_OUTCOMES
)
def test_bulk_outcomes_become_the_node_errors_of_single_sends(
    status: str, code: str, message: str, node_code: str, field: str | None, retryable: bool
) -> None:
    from sesclient.bulk import RecipientResult
    from sesclient.node._batch import _error

    result = RecipientResult(
        "k",
        "ann@example.com",
        status,
        None,
        code,
        message,
        True,
        1,  # type: ignore[arg-type]
        request_id="req-x",
    )
    error = map_send_error(
        _error(result, "v2"), from_addr="Shop <orders@example.com>", region="us-east-1", api="v2"
    )
    assert (error.code, error.field, error.retryable) == (node_code, field, retryable)
    assert error.request_id == (None if code == "ValidationError" else "req-x")
    assert error.hint


def test_unexpected_batch_failures_are_reported_not_lost() -> None:
    node = make_node()
    from sesclient.node._validate import load_config

    result = node._batch_result(0, ZeroDivisionError("boom"), load_config(CONFIG), None, SECRET)  # type: ignore[arg-type]
    assert result["ok"] is False and result["error"]["code"] == "InternalError"


def test_node_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        SESEmailNode(batch_concurrency=0)
