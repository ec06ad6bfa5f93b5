"""The node end to end against the local SES endpoint, over real HTTP on loopback.

Both endpoint versions in all ten locations (endpoint overridden), template
and non-template modes, the product's own example, every SES error the
endpoint can produce, and a batch of 500 items.  The errors the endpoint
cannot produce are covered with respx in test_node_execute.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sesclient import Credentials, RetryPolicy, SESClient
from sesclient.local import LocalSESThread
from sesclient.node import InMemorySecretStore, NodeError, SESEmailNode

REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
]
API_LABELS = {"v2": "SESv2 (API)", "v1": "SESv1 (Classic)"}
ONCE = RetryPolicy(max_attempts=1)

TEMPLATE = {
    "Subject": "Order {{orderId}} has shipped",
    "Text": "Hi {{firstName}}, your order {{orderId}} is on its way.",
    "Html": "<p>Hi {{firstName}}, your order <b>{{orderId}}</b> is on its way.</p>",
}
CONTEXT = {
    "trigger": {"customer_name": "Ann", "email": "ann@example.com"},
    "workflow": {"last_order_id": "A-10042"},
}

Start = Callable[..., LocalSESThread]


@pytest.fixture(scope="module")
def start() -> Iterator[Start]:
    """Start local endpoints (one per distinct setting), each with the example template."""
    servers: dict[tuple, LocalSESThread] = {}

    def get(region: str = "us-east-1", **overrides: Any) -> LocalSESThread:
        key = (region, tuple(sorted(overrides.items())))
        if key not in servers:
            overrides.setdefault("verified_identities", ("example.com",))
            server = LocalSESThread(region=region, **overrides).start()
            servers[key] = server
            config = server.config
            credentials = Credentials(config.access_key_id, config.secret_access_key)
            with SESClient(region, credentials, endpoint_url=server.url) as admin:
                admin.v2.create_email_template(
                    TemplateName="OrderShipped", TemplateContent=TEMPLATE
                )
        return servers[key]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture
def node() -> Iterator[SESEmailNode]:
    with SESEmailNode(client_options={"retries": ONCE}) as n:
        yield n


def secrets_for(server: LocalSESThread) -> InMemorySecretStore:
    return InMemorySecretStore({"local-ses": server.config.secret_access_key})


def config_for(server: LocalSESThread, **fields: Any) -> dict[str, Any]:
    return {
        "access_key_id": server.config.access_key_id,
        "secret_access_key": {"secret": "local-ses"},
        "location": server.config.region,
        "endpoint_url": server.url,
        "from": "Shop <orders@example.com>",
        "to": "{{trigger.email}}",
        **fields,
    }


def simple_config(server: LocalSESThread, **fields: Any) -> dict[str, Any]:
    return config_for(
        server,
        subject="Order {{workflow.last_order_id}}",
        body="<p>Hello {{trigger.customer_name}}, order {{workflow.last_order_id}}.</p>",
        **fields,
    )


def templated_config(server: LocalSESThread, **fields: Any) -> dict[str, Any]:
    defaults = {
        "template_name": "OrderShipped",
        "template_variables": {
            "firstName": "{{trigger.customer_name}}",
            "orderId": "{{workflow.last_order_id}}",
        },
    }
    return config_for(server, **{**defaults, **fields})


def inbox(server: LocalSESThread, **filters: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/_inbox/api/messages", params=filters)
    response.raise_for_status()
    return response.json()["messages"]


def context_for(email: str, name: str = "Ann", order: str = "A-10042") -> dict[str, Any]:
    return {
        "trigger": {"customer_name": name, "email": email},
        "workflow": {"last_order_id": order},
    }


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("api", ["v2", "v1"])
def test_both_versions_in_every_location(
    start: Start, node: SESEmailNode, api: str, region: str
) -> None:
    server = start(region)
    secrets = secrets_for(server)
    version = API_LABELS[api] if region.startswith("eu") else api  # labels and values both work
    to_simple = f"simple-{api}@example.com"
    to_templated = f"templated-{api}@example.com"

    out = node.execute(
        simple_config(server, endpoint_version=version), context_for(to_simple), secrets=secrets
    )
    assert (out["api"], out["region"], out["recipients"]) == (api, region, [to_simple])
    assert out["message_id"] and out["request_id"]
    (message,) = inbox(server, to=to_simple)
    assert message["message_id"] == out["message_id"]
    assert message["api"] == api
    assert message["from"] == "Shop <orders@example.com>"
    assert message["subject"] == "Order A-10042"
    assert message["html"] == "<p>Hello Ann, order A-10042.</p>"
    assert message["text"].strip() == "Hello Ann, order A-10042."

    out = node.execute(
        templated_config(server, endpoint_version=version),
        context_for(to_templated, "Bo", "B-7"),
        secrets=secrets,
    )
    assert (out["api"], out["region"]) == (api, region)
    (message,) = inbox(server, to=to_templated)
    assert message["message_id"] == out["message_id"]
    assert message["template"] == "OrderShipped"
    assert json.loads(message["template_data"]) == {"firstName": "Bo", "orderId": "B-7"}
    assert message["subject"] == "Order B-7 has shipped"
    assert message["text"] == "Hi Bo, your order B-7 is on its way."


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_the_products_example(start: Start, node: SESEmailNode, api: str) -> None:
    server = start("eu-central-1")
    config = {
        "access_key_id": server.config.access_key_id,
        "secret_access_key": "secret:local-ses",
        "endpoint_version": API_LABELS[api],
        "location": "eu-central-1",
        "endpoint_url": server.url,
        "from": "orders@example.com",
        "to": "{{trigger.email}}",
        "template_name": "OrderShipped",
        "template_variables": [
            {"key": "firstName", "value": "{{trigger.customer_name}}"},
            {"key": "orderId", "value": "{{workflow.last_order_id}}"},
        ],
    }
    context = {
        "trigger": {"customer_name": "Jane", "email": f"jane.{api}@example.com"},
        "workflow": {"last_order_id": 10042},
    }
    assert node.validate(config) == []
    output = node.execute(config, context, secrets=secrets_for(server))
    assert set(output) == {"message_id", "request_id", "api", "region", "recipients"}
    assert output["api"] == api and output["region"] == "eu-central-1"
    assert output["recipients"] == [f"jane.{api}@example.com"]
    (message,) = inbox(server, to=f"jane.{api}@example.com")
    assert message["subject"] == "Order 10042 has shipped"
    assert message["text"] == "Hi Jane, your order 10042 is on its way."
    assert json.loads(message["template_data"]) == {"firstName": "Jane", "orderId": 10042}


def test_several_recipients_with_plus_addresses_and_a_text_body(
    start: Start, node: SESEmailNode
) -> None:
    server = start()
    config = config_for(
        server,
        endpoint_version="v1",
        to='{{trigger.email}}, "Doe, Jane" <jane+orders@example.com>',
        subject="Plain",
        body="Line one\nLine two for {{trigger.customer_name}}",
    )
    output = node.execute(config, context_for("bob+x@example.com"), secrets=secrets_for(server))
    assert output["recipients"] == ["bob+x@example.com", '"Doe, Jane" <jane+orders@example.com>']
    (message,) = inbox(server, to="jane+orders@example.com")
    assert message["text"] == "Line one\nLine two for Ann"
    assert message["html"] is None
    assert len(message["to"]) == 2


def test_aexecute_on_the_fast_transport(start: Start) -> None:
    server = start("ap-northeast-1")

    async def main() -> list[dict[str, Any]]:
        async with SESEmailNode(secrets=secrets_for(server)) as node:
            outputs = [
                await node.aexecute(
                    simple_config(server, endpoint_version=api),
                    context_for(f"async-{api}@example.com"),
                )
                for api in ("v2", "v1")
            ]
            outputs.append(
                await node.aexecute(templated_config(server), context_for("async-t@example.com"))
            )
            assert len(node._async_clients[asyncio.get_running_loop()]) == 2
            return outputs

    outputs = asyncio.run(main())
    assert [o["api"] for o in outputs] == ["v2", "v1", "v2"]
    assert inbox(server, to="async-v1@example.com")[0]["message_id"] == outputs[1]["message_id"]


# -- SES errors, as the local endpoint produces them -------------------------------------


def failing(
    node: SESEmailNode,
    server: LocalSESThread,
    config: dict[str, Any],
    context: dict[str, Any],
    secrets: Any = None,
) -> NodeError:
    with pytest.raises(NodeError) as caught:
        node.execute(config, context, secrets=secrets or secrets_for(server))
    return caught.value


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_sandbox_recipient_and_unverified_sender(
    start: Start, node: SESEmailNode, api: str
) -> None:
    server = start(sandbox=True)
    config = simple_config(server, endpoint_version=api)
    error = failing(node, server, config, context_for("stranger@example.org"))
    assert (error.code, error.field) == ("RecipientNotVerified", "To")
    assert "production access" in error.hint and "us-east-1" in error.hint
    error = failing(
        node, server, {**config, "from": "Shop <shop@example.net>"}, context_for("ann@example.com")
    )
    assert (error.code, error.field) == ("SenderNotVerified", "From")
    # verified recipients pass in the sandbox
    assert node.execute(config, context_for("ok@example.com"), secrets=secrets_for(server))[
        "message_id"
    ]


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_unverified_sender_outside_the_sandbox(start: Start, node: SESEmailNode, api: str) -> None:
    server = start()
    config = simple_config(
        server, endpoint_version=api, **{"from": "nobody@unverified.example.net"}
    )
    error = failing(node, server, config, context_for("ann@example.com"))
    assert (error.code, error.field) == ("SenderNotVerified", "From")
    assert "Verify the From address" in error.hint


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_throttling(start: Start, node: SESEmailNode, api: str) -> None:
    server = start("us-west-2", max_send_rate=1)
    config = simple_config(server, endpoint_version=api)
    errors = []
    for n in range(5):
        try:
            node.execute(
                config, context_for(f"rate{n}-{api}@example.com"), secrets=secrets_for(server)
            )
        except NodeError as exc:
            errors.append(exc)
    assert errors, "one recipient per second cannot take five at once"
    assert {(e.code, e.retryable) for e in errors} == {("Throttled", True)}
    assert "send rate" in errors[0].hint


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_daily_quota(start: Start, node: SESEmailNode, api: str) -> None:
    # one endpoint per API: the first send uses up its quota
    server = start("eu-west-1" if api == "v2" else "eu-west-2", max_24h_send=1)
    config = simple_config(server, endpoint_version=api)
    node.execute(config, context_for("first@example.com"), secrets=secrets_for(server))
    error = failing(node, server, config, context_for("second@example.com"))
    assert (error.code, error.retryable) == ("DailyQuotaExceeded", False)
    assert "24-hour" in error.hint


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_bad_credentials(
    start: Start, node: SESEmailNode, api: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = start()
    config = simple_config(server, endpoint_version=api)
    error = failing(
        node,
        server,
        {**config, "access_key_id": "AKIAUNKNOWNKEY000001"},
        context_for("a@example.com"),
    )
    assert (error.code, error.field) == ("InvalidCredentials", "AWS SES Key ID")
    wrong = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzWRONGzzz"
    error2 = failing(
        node,
        server,
        config,
        context_for("a@example.com"),
        InMemorySecretStore({"local-ses": wrong}),
    )
    assert (error2.code, error2.field) == ("InvalidCredentials", "AWS Secret Access Key")
    assert "stored secret" in error2.hint
    for text in (str(error), repr(error), str(error2), json.dumps(error2.to_dict()), caplog.text):
        assert wrong not in text and server.config.secret_access_key not in text


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_missing_template(start: Start, node: SESEmailNode, api: str) -> None:
    server = start()
    config = templated_config(server, endpoint_version=api, template_name="NoSuchTemplate")
    error = failing(node, server, config, context_for("a@example.com"))
    assert (error.code, error.field) == ("TemplateNotFound", "Template Name")
    assert "us-east-1" in error.hint


@pytest.mark.parametrize(
    ("overrides", "code", "retryable"),
    [
        ({"reset_after_rate": 1.0}, "OutcomeUnknown", False),
        ({"error_rate": 1.0}, "ServiceUnavailable", True),
    ],
)
def test_faults(
    start: Start, node: SESEmailNode, overrides: dict, code: str, retryable: bool
) -> None:
    server = start("us-east-2", **overrides)
    error = failing(node, server, simple_config(server), context_for("a@example.com"))
    assert (error.code, error.retryable) == (code, retryable)


def test_connection_refused(start: Start, node: SESEmailNode) -> None:
    server = start()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        error = failing(
            node, server, simple_config(server, endpoint_url=url), context_for("a@example.com")
        )
    assert (error.code, error.retryable) == ("ConnectionFailed", True)


# -- batches -------------------------------------------------------------------------------


def test_a_batch_of_500_items(start: Start) -> None:
    server = start("ap-southeast-1")
    items = [context_for(f"bulk{i}@example.com", f"N{i}", f"O-{i}") for i in range(500)]
    items[10] = {"trigger": {"customer_name": "no email"}, "workflow": {"last_order_id": 1}}
    items[20]["trigger"]["email"] = "bulk20@example.com\r\nBcc: x@example.com"
    node = SESEmailNode(secrets=secrets_for(server), batch_concurrency=20)
    results = node.execute_batch(templated_config(server), items)
    assert [r["index"] for r in results] == list(range(500))
    failed = {r["index"]: r["error"]["code"] for r in results if not r["ok"]}
    assert failed == {10: "MissingValue", 20: "LineBreakInHeader"}
    sent = inbox(server, **{"from": "orders@example.com", "limit": "1000"})
    bulk = {m["to"][0]: m for m in sent if m["to"][0].startswith("bulk")}
    assert len(bulk) == 498
    assert {r["output"]["message_id"] for r in results if r["ok"]} == {
        m["message_id"] for m in bulk.values()
    }
    assert json.loads(bulk["bulk499@example.com"]["template_data"]) == {
        "firstName": "N499",
        "orderId": "O-499",
    }
    # Through the bulk engine: SendBulkEmail calls of up to 50 recipients each, so
    # 498 items share a handful of request ids instead of having one each.
    assert {m["operation"] for m in bulk.values()} == {"SendBulkEmail"}
    by_request: dict[str, int] = {}
    for result in results:
        if result["ok"]:
            request_id = result["output"]["request_id"]
            by_request[request_id] = by_request.get(request_id, 0) + 1
    assert 10 <= len(by_request) <= 20
    assert max(by_request.values()) == 50


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_a_sandbox_template_batch_reports_each_rejected_recipient(start: Start, api: str) -> None:
    server = start("eu-west-2", sandbox=True)
    items = [context_for(f"tpl-{api}-{i}@example.com", f"N{i}") for i in range(60)]
    for i in (3, 51):
        items[i] = context_for(f"stranger{i}-{api}@example.org")
    # Two recipients in one item: a message of its own, next to the bulk calls.
    items[8]["trigger"]["email"] = f"pair-{api}@example.com, other-{api}@example.com"
    node = SESEmailNode(secrets=secrets_for(server))
    results = node.execute_batch(templated_config(server, endpoint_version=api), items)
    failed = {r["index"]: r["error"] for r in results if not r["ok"]}
    assert {i: e["code"] for i, e in failed.items()} == {
        3: "RecipientNotVerified",
        51: "RecipientNotVerified",
    }
    assert all(e["request_id"] and e["field"] == "To" for e in failed.values())
    operation = "SendBulkEmail" if api == "v2" else "SendBulkTemplatedEmail"
    sent = {m["to"][0]: m for m in inbox(server, **{"limit": "1000"})}
    for result in results:
        if result["ok"]:
            output = result["output"]
            message = sent[output["recipients"][0]]
            assert message["message_id"] == output["message_id"]
            assert output["api"] == api and output["request_id"]
            if result["index"] != 8:
                assert message["operation"] == operation
    pair = sent[f"pair-{api}@example.com"]
    assert results[8]["output"]["message_id"] == pair["message_id"]
    assert len(pair["to"]) == 2
    assert pair["operation"] == ("SendEmail" if api == "v2" else "SendTemplatedEmail")
    assert json.loads(sent[f"tpl-{api}-59@example.com"]["template_data"])["firstName"] == "N59"
    # The stranger at 3 shared its bulk call with accepted recipients.
    shared = [
        r for r in results if r["ok"] and r["output"]["request_id"] == failed[3]["request_id"]
    ]
    assert shared


def test_a_batch_larger_than_the_daily_quota_sends_nothing(start: Start) -> None:
    server = start("ap-southeast-2", max_24h_send=5)
    node = SESEmailNode(secrets=secrets_for(server))
    config = templated_config(server)
    items = [context_for(f"quota{i}@example.com") for i in range(6)]
    results = node.execute_batch(config, items)
    assert {(r["ok"], r["error"]["code"]) for r in results} == {(False, "DailyQuotaExceeded")}
    assert inbox(server, to="quota0@example.com") == []
    results = node.execute_batch(config, items[:5])
    assert all(r["ok"] for r in results)
    assert len(inbox(server, to="quota4@example.com")) == 1


def test_an_async_batch_reports_ses_errors_per_item(start: Start) -> None:
    server = start("us-west-1", sandbox=True)
    items = [context_for(f"ok{i}@example.com") for i in range(40)]
    for i in (5, 17, 33):
        items[i] = context_for(f"stranger{i}@example.org")

    async def main() -> list[dict[str, Any]]:
        async with SESEmailNode(
            secrets=secrets_for(server), client_options={"retries": ONCE}
        ) as node:
            return await node.aexecute_batch(
                simple_config(server, endpoint_version="v1"), items, concurrency=8
            )

    results = asyncio.run(main())
    failed = {r["index"]: r["error"] for r in results if not r["ok"]}
    assert set(failed) == {5, 17, 33}
    assert {e["code"] for e in failed.values()} == {"RecipientNotVerified"}
    assert all(e["request_id"] for e in failed.values())
    assert sum(r["ok"] for r in results) == 37
