"""Every client the benchmark sends with, as runner factories.

All of them send the same simple message (one sender, one recipient, a
subject and a short text body) to the same server.  A peer that is not
installed, or that cannot reach a custom endpoint, raises
:class:`~benchmarks._harness.Skipped` with the reason.

The floors are defined as "what is left when nothing but HTTP happens":

* sync floor: one ``httpx.Client`` sending a prebuilt, already signed
  ``httpx.Request`` again and again (``client.send(request)``, response
  read, status checked);
* async floor: one ``aiohttp.ClientSession`` posting prebuilt bytes with
  prebuilt signed headers (response read, status checked).

Prebuilt requests are re-signed before each round (outside the clock), so a
signature-checking server accepts them for the whole run.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from ._harness import Contender, Skipped

__all__ = [
    "ACCESS_KEY_ID",
    "REGION",
    "SECRET_ACCESS_KEY",
    "V1_KWARGS",
    "V2_KWARGS",
    "async_contenders",
    "signed_v2_request",
    "sync_contenders",
    "thread_contenders",
]

REGION = "us-east-1"
# The local endpoint's own test key pair (it protects nothing).
ACCESS_KEY_ID = "AKIALOCALSES00000001"
SECRET_ACCESS_KEY = "local-ses-secret-access-key-not-a-real-secret"

SENDER = "sender@example.com"
RECIPIENT = "recipient@example.com"
SUBJECT = "Benchmark"
TEXT = "Hello from the sesclient benchmark."

V2_KWARGS: dict[str, Any] = {
    "FromEmailAddress": SENDER,
    "Destination": {"ToAddresses": [RECIPIENT]},
    "Content": {"Simple": {"Subject": {"Data": SUBJECT}, "Body": {"Text": {"Data": TEXT}}}},
}
V1_KWARGS: dict[str, Any] = {
    "Source": SENDER,
    "Destination": {"ToAddresses": [RECIPIENT]},
    "Message": {"Subject": {"Data": SUBJECT}, "Body": {"Text": {"Data": TEXT}}},
}
HIGH_LEVEL_KWARGS: dict[str, Any] = {
    "from_addr": SENDER,
    "to": [RECIPIENT],
    "subject": SUBJECT,
    "text": TEXT,
}
V2_BODY = json.dumps(V2_KWARGS, separators=(",", ":")).encode()
V2_PATH = "/v2/email/outbound-emails"

_CAPO_V2_CONTENT = {"simple": {"subject": {"data": SUBJECT}, "body": {"text": {"data": TEXT}}}}
_CAPO_V1_MESSAGE = {"subject": {"data": SUBJECT}, "body": {"text": {"data": TEXT}}}


def _require(module: str, install: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise Skipped(f"not installed (pip install {install})")


def _sesclient_credentials() -> Any:
    from sesclient import Credentials

    return Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)


def signed_v2_request(url: str, *, signed: bool = True) -> dict[str, str]:
    """Headers for a v2 SendEmail of :data:`V2_BODY` to ``url`` (signed now, or unsigned)."""
    headers = {"Content-Type": "application/json"}
    if not signed:
        return headers
    from sesclient.sigv4 import sign_request

    return sign_request(
        "POST",
        url,
        headers,
        V2_BODY,
        credentials=_sesclient_credentials(),
        region=REGION,
        service="ses",
    )


def _check(status: int) -> None:
    if status != 200:
        raise RuntimeError(f"the server answered {status}")


# -- sync runners ------------------------------------------------------------------


class SyncLoop:
    """``op()`` n times in this thread."""

    def __init__(
        self,
        op: Callable[[], Any],
        close: Callable[[], Any] = lambda: None,
        prepare: Callable[[], Any] | None = None,
    ) -> None:
        self._op = op
        self._close = close
        if prepare is not None:
            self.prepare = prepare

    def __call__(self, n: int) -> None:
        op = self._op
        for _ in range(n):
            op()

    def close(self) -> None:
        self._close()


class ThreadedLoop:
    """n operations spread over ``threads`` threads, each with its own ``op`` from ``make_op``."""

    def __init__(
        self,
        threads: int,
        make_op: Callable[[], Callable[[], Any]],
        close: Callable[[], Any] = lambda: None,
        prepare: Callable[[], Any] | None = None,
    ) -> None:
        self._ops = [make_op() for _ in range(threads)]
        self._close = close
        if prepare is not None:
            self.prepare = prepare

    def __call__(self, n: int) -> None:
        count = len(self._ops)
        shares = [n // count + (1 if i < n % count else 0) for i in range(count)]
        errors: list[BaseException] = []

        def work(op: Callable[[], Any], share: int) -> None:
            try:
                for _ in range(share):
                    op()
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=work, args=(op, share))
            for op, share in zip(self._ops, shares, strict=True)
            if share
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def close(self) -> None:
        self._close()


def _sesclient_sync(url: str, api: str, *, max_connections: int = 10) -> Any:
    from sesclient import SESClient

    return SESClient(
        REGION,
        _sesclient_credentials(),
        endpoint_url=url,
        api=api,
        max_connections=max_connections,
    )


def _boto3_client(service: str, url: str, *, pool: int = 10) -> Any:
    _require("boto3", "boto3")
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        endpoint_url=url,
        config=Config(max_pool_connections=pool),
    )


class _PrebuiltHttpx:
    """The sync floor's request: built and signed once per round, sent as is."""

    def __init__(self, url: str) -> None:
        self.url = url + V2_PATH
        self.request: Any = None
        self.refresh()

    def refresh(self) -> None:
        import httpx

        headers = signed_v2_request(self.url)
        self.request = httpx.Request("POST", self.url, headers=headers, content=V2_BODY)


def sync_contenders(url: str) -> list[Contender]:
    """Sequential sends from one thread: sesclient three ways, the floor and the peers."""

    def sesclient_v2() -> SyncLoop:
        client = _sesclient_sync(url, "v2")
        send = client.v2.send_email
        return SyncLoop(lambda: send(**V2_KWARGS), client.close)

    def sesclient_v1() -> SyncLoop:
        client = _sesclient_sync(url, "v1")
        send = client.v1.send_email
        return SyncLoop(lambda: send(**V1_KWARGS), client.close)

    def sesclient_high() -> SyncLoop:
        client = _sesclient_sync(url, "v2")
        send = client.send_email
        return SyncLoop(lambda: send(**HIGH_LEVEL_KWARGS), client.close)

    def raw_httpx() -> SyncLoop:
        import httpx

        # sesclient's default timeout, not httpx's 5 s: the same patience for every client.
        client = httpx.Client(timeout=30.0)
        prebuilt = _PrebuiltHttpx(url)
        send = client.send

        def op() -> None:
            _check(send(prebuilt.request).status_code)

        return SyncLoop(op, client.close, prebuilt.refresh)

    def boto3_v2() -> SyncLoop:
        client = _boto3_client("sesv2", url)
        send = client.send_email
        return SyncLoop(lambda: send(**V2_KWARGS), client.close)

    def boto3_v1() -> SyncLoop:
        client = _boto3_client("ses", url)
        send = client.send_email
        return SyncLoop(lambda: send(**V1_KWARGS), client.close)

    def capo_v2() -> SyncLoop:
        _require("capo_sesv2", "capo-sesv2")
        import capo_sesv2

        client = capo_sesv2.SESv2Client(region=REGION, endpoint=url, credentials=_capo_creds())
        send = client.send_email

        def op() -> None:
            send(
                _CAPO_V2_CONTENT,
                from_email_address=SENDER,
                destination={"to_addresses": [RECIPIENT]},
            )

        return SyncLoop(op)

    def capo_v1() -> SyncLoop:
        _require("capo_ses", "capo-ses")
        import capo_ses

        client = capo_ses.SESClient(region=REGION, endpoint=url, credentials=_capo_creds())
        send = client.send_email
        destination = {"to_addresses": [RECIPIENT]}
        return SyncLoop(lambda: send(SENDER, destination, _CAPO_V1_MESSAGE))

    return [
        Contender("sesclient-v2", "sesclient v2 (`client.v2.send_email`)", sesclient_v2, "subject"),
        Contender("sesclient-v1", "sesclient v1 (`client.v1.send_email`)", sesclient_v1, "subject"),
        Contender(
            "sesclient-high",
            "sesclient high level (`client.send_email`)",
            sesclient_high,
            "subject",
        ),
        Contender("raw-httpx", "raw httpx, prebuilt request (floor)", raw_httpx, "floor"),
        Contender("boto3-sesv2", "boto3 `sesv2`", boto3_v2),
        Contender("boto3-ses", "boto3 `ses`", boto3_v1),
        Contender("capo-sesv2", "capo-sesv2", capo_v2),
        Contender("capo-ses", "capo-ses", capo_v1),
    ]


def _capo_creds() -> dict[str, str]:
    return {"access_key": ACCESS_KEY_ID, "secret_key": SECRET_ACCESS_KEY}


def thread_contenders(url: str, threads: int) -> list[Contender]:
    """Sends from ``threads`` threads sharing one client (its pool sized to match)."""

    def sesclient_v2() -> ThreadedLoop:
        client = _sesclient_sync(url, "v2", max_connections=threads)
        send = client.v2.send_email
        return ThreadedLoop(threads, lambda: lambda: send(**V2_KWARGS), client.close)

    def raw_httpx() -> ThreadedLoop:
        import httpx

        limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
        client = httpx.Client(limits=limits, timeout=30.0)
        prebuilt: list[_PrebuiltHttpx] = []

        def make_op() -> Callable[[], None]:
            mine = _PrebuiltHttpx(url)
            prebuilt.append(mine)
            send = client.send
            return lambda: _check(send(mine.request).status_code)

        def refresh() -> None:
            for item in prebuilt:
                item.refresh()

        return ThreadedLoop(threads, make_op, client.close, refresh)

    def boto3_client(service: str, kwargs: dict[str, Any]) -> Callable[[], ThreadedLoop]:
        def setup() -> ThreadedLoop:
            client = _boto3_client(service, url, pool=threads)
            send = client.send_email
            return ThreadedLoop(threads, lambda: lambda: send(**kwargs), client.close)

        return setup

    return [
        Contender("sesclient-v2", "sesclient v2", sesclient_v2, "subject"),
        Contender("raw-httpx", "raw httpx, prebuilt request (floor)", raw_httpx, "floor"),
        Contender("boto3-sesv2", "boto3 `sesv2`", boto3_client("sesv2", V2_KWARGS)),
        Contender("boto3-ses", "boto3 `ses`", boto3_client("ses", V1_KWARGS)),
    ]


# -- async runners -----------------------------------------------------------------

AsyncOp = Callable[[], Awaitable[Any]]


class AsyncBurst:
    """``concurrency`` worker tasks on a private event loop sharing n sends.

    ``setup`` (a coroutine function, run on that loop) returns
    ``(make_op, aclose)``; ``make_op()`` is called once per worker, so a
    worker can own a prebuilt request.  The loop, the client and its
    connections live as long as the runner, across rounds.
    """

    def __init__(
        self,
        concurrency: int,
        setup: Callable[[], Awaitable[tuple[Callable[[], AsyncOp], Callable[[], Awaitable[Any]]]]],
        prepare: Callable[[], Any] | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            make_op, self._aclose = self._loop.run_until_complete(setup())
        except BaseException:
            self._loop.close()
            raise
        self._ops = [make_op() for _ in range(concurrency)]
        self._remaining = 0
        if prepare is not None:
            self.prepare = prepare

    async def _worker(self, op: AsyncOp) -> None:
        while self._remaining > 0:
            self._remaining -= 1
            await op()

    async def _burst(self, n: int) -> None:
        self._remaining = n
        await asyncio.gather(*(self._worker(op) for op in self._ops[:n]))

    def __call__(self, n: int) -> None:
        self._loop.run_until_complete(self._burst(n))

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self._aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()


def async_contenders(url: str, concurrency: int) -> list[Contender]:
    """Sends with ``concurrency`` in flight on one event loop; pools sized to match."""

    def sesclient_v2() -> AsyncBurst:
        async def setup() -> Any:
            from sesclient import AsyncSESClient

            client = AsyncSESClient(
                REGION,
                _sesclient_credentials(),
                endpoint_url=url,
                max_connections=concurrency,
            )
            send = client.v2.send_email
            return (lambda: lambda: send(**V2_KWARGS)), client.aclose

        return AsyncBurst(concurrency, setup)

    def raw_aiohttp() -> AsyncBurst:
        _require("aiohttp", "aiohttp")
        target = url + V2_PATH
        signed: list[dict[str, str]] = []

        async def setup() -> Any:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
            session = aiohttp.ClientSession(connector=connector)
            post = session.post

            def make_op() -> AsyncOp:
                slot = len(signed)
                signed.append(signed_v2_request(target))

                async def op() -> None:
                    async with post(target, data=V2_BODY, headers=signed[slot]) as response:
                        await response.read()
                        _check(response.status)

                return op

            return make_op, session.close

        def refresh() -> None:
            for index in range(len(signed)):
                signed[index] = signed_v2_request(target)

        return AsyncBurst(concurrency, setup, refresh)

    def raw_httpx_async() -> AsyncBurst:
        prebuilt: list[_PrebuiltHttpx] = []

        async def setup() -> Any:
            import httpx

            limits = httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            )
            client = httpx.AsyncClient(limits=limits, timeout=30.0)
            send = client.send

            def make_op() -> AsyncOp:
                mine = _PrebuiltHttpx(url)
                prebuilt.append(mine)

                async def op() -> None:
                    _check((await send(mine.request)).status_code)

                return op

            return make_op, client.aclose

        def refresh() -> None:
            for item in prebuilt:
                item.refresh()

        return AsyncBurst(concurrency, setup, refresh)

    def aiobotocore_v2() -> AsyncBurst:
        _require("aiobotocore", "aiobotocore")

        async def setup() -> Any:
            from aiobotocore.config import AioConfig
            from aiobotocore.session import get_session

            context = get_session().create_client(
                "sesv2",
                region_name=REGION,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
                endpoint_url=url,
                config=AioConfig(max_pool_connections=concurrency),
            )
            client = await context.__aenter__()
            send = client.send_email

            async def aclose() -> None:
                await context.__aexit__(None, None, None)

            return (lambda: lambda: send(**V2_KWARGS)), aclose

        return AsyncBurst(concurrency, setup)

    def capo_v2_async() -> AsyncBurst:
        _require("capo_sesv2", "capo-sesv2")

        async def setup() -> Any:
            import capo_sesv2
            import zapros

            handler = zapros.AsyncStdNetworkHandler(
                http1={
                    "max_connections_per_host": concurrency,
                    "max_idle_connections_per_host": concurrency,
                }
            )
            client = capo_sesv2.AsyncSESv2Client(
                http_handler=handler, region=REGION, endpoint=url, credentials=_capo_creds()
            )
            send = client.send_email
            destination = {"to_addresses": [RECIPIENT]}

            def make_op() -> AsyncOp:
                return lambda: send(
                    _CAPO_V2_CONTENT, from_email_address=SENDER, destination=destination
                )

            return make_op, handler.aclose

        return AsyncBurst(concurrency, setup)

    return [
        Contender("sesclient-v2", "sesclient `AsyncSESClient` v2", sesclient_v2, "subject"),
        Contender("raw-aiohttp", "raw aiohttp, prebuilt bytes (floor)", raw_aiohttp, "floor"),
        Contender("httpx-async", "raw httpx.AsyncClient, prebuilt request", raw_httpx_async),
        Contender("aiobotocore-sesv2", "aiobotocore `sesv2`", aiobotocore_v2),
        Contender("capo-sesv2", "capo-sesv2 async", capo_v2_async),
    ]
