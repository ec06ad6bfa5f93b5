"""Start-up laziness, one client shared by threads, and the SESv2 paginators."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import respx

from sesclient import AsyncSESClient, Credentials, SESClient
from sesclient.local import LocalSESThread


def _run(code: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_import_loads_no_operation_table_and_v1_loads_only_its_own():
    loaded = _run(
        """
        import json, sys
        import sesclient
        after_import = sorted(m for m in sys.modules if m.startswith("sesclient"))
        heavy = ("xml.etree.ElementTree", "email.message", "sqlite3", "asyncio")
        heavy_at_import = [m for m in heavy if m in sys.modules]
        client = sesclient.SESClient("us-east-1", sesclient.Credentials("AKID", "secret"))
        after_client = sorted(m for m in sys.modules if m.startswith("sesclient._models."))
        client.v1.send_email  # resolving a v1 operation loads v1's table
        after_v1 = sorted(m for m in sys.modules if m.startswith("sesclient._models."))
        print(json.dumps({"import": after_import, "heavy": heavy_at_import,
                          "client": after_client, "v1": after_v1}))
        """
    )
    assert loaded["import"] == ["sesclient"]
    assert loaded["client"] == []
    assert loaded["v1"] == ["sesclient._models.ses_v1"]
    # httpx itself may pull some of these in; sesclient must not add any
    baseline = _run(
        """
        import json, sys
        import httpx
        httpx.Client()
        heavy = ("xml.etree.ElementTree", "email.message", "sqlite3", "asyncio")
        print(json.dumps([m for m in heavy if m in sys.modules]))
        """
    )
    assert set(loaded["heavy"]) <= set(baseline)


def test_one_sync_client_is_shared_by_many_threads():
    with LocalSESThread(verified_identities=("t@example.com",)) as server:
        credentials = Credentials(server.config.access_key_id, server.config.secret_access_key)
        with SESClient(
            server.config.region, credentials, endpoint_url=server.url, max_connections=8
        ) as client:

            def send(n: int) -> str:
                return client.send_email(
                    from_addr="t@example.com", to=f"r{n}@example.com", subject=f"t{n}", text="x"
                ).message_id

            with ThreadPoolExecutor(max_workers=8) as pool:
                ids = list(pool.map(send, range(200)))
        stored = httpx.get(f"{server.url}/_inbox/api/messages").json()["messages"]
    assert len(set(ids)) == 200
    assert {m["subject"] for m in stored} >= {f"t{n}" for n in range(200)}


LIST_TENANTS = "https://email.us-east-1.amazonaws.com/v2/email/tenants/list"


def _tenant_pages(request: httpx.Request) -> httpx.Response:
    token = json.loads(request.content or b"{}").get("NextToken")
    pages = {None: ("t1", "t2", "p2"), "p2": ("t3", "t4", "p3"), "p3": ("t5", None, None)}
    first, second, following = pages[token]
    tenants = [{"TenantName": name} for name in (first, second) if name]
    body = {"Tenants": tenants}
    if following:
        body["NextToken"] = following
    return httpx.Response(200, json=body)


def test_v2_paginator_follows_next_token_sync_and_async():
    credentials = Credentials("AKID", "secret")
    with respx.mock:
        route = respx.post(LIST_TENANTS).mock(side_effect=_tenant_pages)
        client = SESClient("us-east-1", credentials)
        pages = list(
            client.v2.get_paginator("list_tenants").paginate(PaginationConfig={"PageSize": 2})
        )
        assert [t["TenantName"] for p in pages for t in p["Tenants"]] == [
            "t1",
            "t2",
            "t3",
            "t4",
            "t5",
        ]
        assert json.loads(route.calls[0].request.content)["PageSize"] == 2
        capped = list(
            client.v2.get_paginator("list_tenants").paginate(PaginationConfig={"MaxItems": 3})
        )
        assert sum(len(p["Tenants"]) for p in capped) == 3

        async def collect():
            async with AsyncSESClient(
                "us-east-1", credentials, http_client=httpx.AsyncClient()
            ) as c:
                return [page async for page in c.v2.get_paginator("list_tenants").paginate()]

        assert len(asyncio.run(collect())) == 3
    assert client.v2.can_paginate("list_tenants") and not client.v2.can_paginate("send_email")
    with pytest.raises(ValueError, match="no paginator"):
        client.v2.get_paginator("send_email")
