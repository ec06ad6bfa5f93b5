"""``sesclient demo``: the main job, end to end, against an embedded local endpoint.

Starts the local SES endpoint in-process on a free port and sends through
the real client path (signed, over HTTP): a v1 email, a v2 email, a templated
email and a bulk batch, then prints what happened and where to look.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

SENDER = "demo@sesclient.example"


def run_demo(*, recipients: int = 1000, keep_serving: bool = False) -> int:
    """Run the demo; returns the process exit code."""
    from ._client import SESClient
    from ._credentials import Credentials
    from .local import LocalSESThread

    with LocalSESThread() as server:
        config = server.config
        credentials = Credentials(config.access_key_id, config.secret_access_key)
        print(f"local SES endpoint: {server.url} (region {config.region})")
        with (
            SESClient(config.region, credentials, api="v2", endpoint_url=server.url) as v2,
            SESClient(config.region, credentials, api="v1", endpoint_url=server.url) as v1,
        ):
            v2.v2.create_email_identity(EmailIdentity=SENDER)
            print(f"verified sender: {SENDER}")

            sent = v1.send_email(
                from_addr=SENDER,
                to="alice@example.com",
                subject="Hello from SES v1",
                text="Sent with the Query API, signed with SigV4.",
            )
            print(f"v1 SendEmail           -> {sent.message_id}")

            sent = v2.send_email(
                from_addr=SENDER,
                to=["bob@example.com"],
                subject="Hello from SESv2",
                html="<h1>Hello</h1><p>Sent with the <b>REST API</b>.</p>",
                text="Hello. Sent with the REST API.",
            )
            print(f"v2 SendEmail           -> {sent.message_id}")

            v2.v2.create_email_template(
                TemplateName="order-shipped",
                TemplateContent={
                    "Subject": "Order {{orderId}} shipped",
                    "Text": "Hi {{firstName}}, order {{orderId}} is on its way.",
                    "Html": "<p>Hi {{firstName}}, order <b>{{orderId}}</b> is on its way.</p>",
                },
            )
            sent = v2.send_email(
                from_addr=SENDER,
                to="carol@example.com",
                template="order-shipped",
                template_data={"firstName": "Carol", "orderId": "A-1001"},
            )
            print(f"v2 templated SendEmail -> {sent.message_id}")

        if recipients > 0:
            summary = asyncio.run(_bulk(server.url, config.region, credentials, recipients))
            line = (
                f"bulk SendBulkEmail     -> {summary.sent} of {recipients} recipients sent in "
                f"{summary.elapsed:.2f} s ({summary.rate:,.0f} recipients/s, "
                f"{summary.requests} requests)"
            )
            if not summary.ok:
                line += f"; {summary.failed} failed, {summary.unknown} unknown"
            print(line)
        import httpx

        stats = httpx.get(f"{server.url}/_inbox/api/stats", timeout=10).json()
        print(f"endpoint counters: {_counters(stats)}")
        print(f"inbox: {server.inbox_url}")
        if keep_serving:
            print("serving until Ctrl-C")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


async def _bulk(url: str, region: str, credentials: Any, count: int) -> Any:
    from ._client import AsyncSESClient
    from .bulk import BulkSender

    # One attempt per request: the bulk sender paces and retries by itself.
    async with AsyncSESClient(region, credentials, api="v2", endpoint_url=url, retries=1) as client:
        sender = BulkSender(client, from_addr=SENDER, template="order-shipped")
        recipients = (
            {
                "address": f"customer{n}@example.com",
                "template_data": {"firstName": f"Customer {n}", "orderId": f"B-{n:05d}"},
            }
            for n in range(count)
        )
        return await sender.run(recipients, total=count)


def _counters(stats: dict[str, Any]) -> str:
    return ", ".join(
        f"{key}={value}" for key, value in stats.items() if not isinstance(value, dict)
    )
