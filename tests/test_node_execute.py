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
        results = await_batch(node, [CONTEXT, {"trigger": {}}])
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


def test_batch_reports_every_item() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        to = json.loads(request.content)["Destination"]["ToAddresses"][0]
        if to.startswith("unverified"):
            return v2_error("MessageRejected", NOT_VERIFIED + to)
        return v2_ok(f"id-{to.split('@')[0]}")

    items = [
        {
            "trigger": {"customer_name": f"c{i}", "email": f"user{i}@example.com"},
            "workflow": {"last_order_id": i},
        }
        for i in range(30)
    ]
    items[3] = {"trigger": {"customer_name": "x"}, "workflow": {"last_order_id": 3}}
    items[7]["trigger"]["email"] = "unverified7@example.com"
    items[11]["trigger"]["email"] = "line\r\nbreak@example.com"
    # respx patches httpx's default transport, so hand the async client one that uses it.
    http = httpx.AsyncClient()
    node = make_node(batch_concurrency=4, async_client_options={"http_client": http})
    with respx.mock:
        route = respx.post(V2.format("us-east-1")).mock(side_effect=answer)
        results = node.execute_batch(CONFIG, items)
    asyncio.run(http.aclose())
    assert route.call_count == 28
    assert [r["index"] for r in results] == list(range(30))
    assert json.loads(json.dumps(results)) == results
    failed = {r["index"]: r["error"]["code"] for r in results if not r["ok"]}
    assert failed == {3: "MissingValue", 7: "RecipientNotVerified", 11: "LineBreakInHeader"}
    assert results[7]["error"]["hint"]
    assert results[0]["output"] == {
        "message_id": "id-user0",
        "request_id": "req-1",
        "api": "v2",
        "region": "us-east-1",
        "recipients": ["user0@example.com"],
    }
    assert node._clients == {}  # the sync batch's client lived and died with the batch


def test_batch_fails_as_a_whole_for_an_invalid_config_or_secret() -> None:
    node = make_node()
    with pytest.raises(NodeConfigError):
        node.execute_batch({**CONFIG, "location": "mars-1"}, [CONTEXT])
    with pytest.raises(NodeError) as caught:
        node.execute_batch({**CONFIG, "secret_access_key": "secret:gone"}, [CONTEXT])
    assert caught.value.code == "SecretNotFound"
    assert node.execute_batch(CONFIG, []) == []


def test_sync_batch_refuses_to_run_inside_an_event_loop() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="aexecute_batch"):
            make_node().execute_batch(CONFIG, [CONTEXT])

    asyncio.run(main())


def test_aexecute_batch_uses_the_pooled_client() -> None:
    http = httpx.AsyncClient()
    node = make_node(async_client_options={"http_client": http})

    async def main() -> list[dict]:
        with respx.mock:
            respx.post(V2.format("us-east-1")).mock(return_value=v2_ok())
            results = await node.aexecute_batch(CONFIG, [CONTEXT] * 5, concurrency=2)
            await node.aexecute(CONFIG, CONTEXT)
        assert len(node._async_clients[asyncio.get_running_loop()]) == 1
        await node.aclose()
        await http.aclose()
        return results

    results = asyncio.run(main())
    assert [r["ok"] for r in results] == [True] * 5


class _RecordingClient:
    """Counts sends in flight, to check the seam's concurrency bound."""

    def __init__(self, fail_on: str) -> None:
        self.in_flight = 0
        self.peak = 0
        self.fail_on = fail_on

    async def send_email(self, **kwargs: Any) -> str:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if kwargs["to"][0] == self.fail_on:
                raise ZeroDivisionError("boom")
            return kwargs["to"][0]
        finally:
            self.in_flight -= 1


def test_send_all_bounds_concurrency_and_keeps_order(caplog: pytest.LogCaptureFixture) -> None:
    emails = [
        OutgoingEmail(from_addr="a@example.com", to=(f"u{i}@example.com",), subject="s", text="t")
        for i in range(40)
    ]
    client = _RecordingClient(fail_on="u5@example.com")
    outcomes = asyncio.run(send_all(client, emails, concurrency=3))
    assert client.peak == 3
    assert outcomes[:5] == [f"u{i}@example.com" for i in range(5)]
    assert isinstance(outcomes[5], ZeroDivisionError)
    assert outcomes[39] == "u39@example.com"
    assert "unexpected error sending a batch item" in caplog.text
    with pytest.raises(ValueError):
        asyncio.run(send_all(client, emails, concurrency=0))


def test_unexpected_batch_failures_are_reported_not_lost() -> None:
    node = make_node()
    from sesclient.node._validate import load_config

    result = node._batch_result(0, ZeroDivisionError("boom"), load_config(CONFIG), None, SECRET)  # type: ignore[arg-type]
    assert result["ok"] is False and result["error"]["code"] == "InternalError"


def test_node_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        SESEmailNode(batch_concurrency=0)
