"""``SESClient`` and ``AsyncSESClient``: thin I/O loops around the sans-IO core.

Everything that knows SES (validation, serialisation, signing, parsing,
retry decisions) lives in :mod:`sesclient._call` and below; the two classes
here only resolve configuration, own the pooled httpx client and move bytes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from ._call import Call, Endpoint
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._credentials import Credentials
    from ._models.ses_v1_types import AsyncV1Operations, V1Operations
    from ._models.ses_v2_types import AsyncV2Operations, V2Operations

__all__ = ["AsyncSESClient", "SESClient", "SendResult"]

_USER_AGENT = "sesclient/0.1.0"
_APIS = ("v1", "v2")


class SendResult(NamedTuple):
    """What a high-level :meth:`SESClient.send_email` returns."""

    message_id: str
    request_id: str | None
    api: str


class _ClientCore:
    """Configuration shared by the sync and async clients, resolved once."""

    def __init__(
        self,
        region: str | None,
        credentials: Any,
        *,
        api: str,
        endpoint_url: str | None,
        fips: bool | None,
        retries: int | RetryPolicy | None,
        profile: str | None,
    ) -> None:
        from ._credentials import resolve_credentials, resolve_region
        from ._endpoints import resolve_endpoint

        if api not in _APIS:
            from ._errors import SESValidationError

            raise SESValidationError(f"api must be 'v1' or 'v2', not {api!r}", field="api")
        self.api = api
        self.region = resolve_region(region, profile=profile)
        self.credentials = resolve_credentials(credentials, profile=profile)
        if retries is None:
            policy = RetryPolicy()
        elif isinstance(retries, RetryPolicy):
            policy = retries
        else:
            policy = RetryPolicy(max_attempts=int(retries))
        self.policy = policy
        self.endpoints = {
            name: Endpoint(
                api=name,
                base_url=resolve_endpoint(
                    self.region, api=name, fips=fips, endpoint_url=endpoint_url
                ),
                region=self.region,
                policy=policy,
            )
            for name in _APIS
        }

    def derive(self, *, api: str | None, retries: int | RetryPolicy | None) -> _ClientCore:
        """A copy with another API or retry policy; credentials and endpoints are shared."""
        derived = object.__new__(_ClientCore)
        derived.__dict__.update(self.__dict__)
        if api is not None:
            if api not in _APIS:
                from ._errors import SESValidationError

                raise SESValidationError(f"api must be 'v1' or 'v2', not {api!r}", field="api")
            derived.api = api
        if retries is not None:
            policy = retries if isinstance(retries, RetryPolicy) else RetryPolicy(int(retries))
            derived.policy = policy
            derived.endpoints = {}
            for name, endpoint in self.endpoints.items():
                copy = Endpoint(
                    api=name, base_url=endpoint.base_url, region=endpoint.region, policy=policy
                )
                copy.clock_offset = endpoint.clock_offset
                derived.endpoints[name] = copy
        return derived

    def __repr__(self) -> str:
        endpoint = self.endpoints[self.api].base_url
        return f"api={self.api!r}, region={self.region!r}, endpoint={endpoint!r}"


def _environment_proxies() -> bool:
    """Whether HTTP(S)_PROXY or the like is set, which httpx's client layer honours."""
    from urllib.request import getproxies

    return bool(getproxies())


def _limits(max_connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def _http2_guard(http2: bool) -> None:
    if http2:
        try:
            import h2  # noqa: F401
        except ImportError:
            raise ImportError(
                "http2=True needs the h2 package: pip install 'sesclient[http2]'"
            ) from None


class _Operations:
    """``client.v1`` / ``client.v2``: every operation of one API, as boto3 names it.

    ``client.v2.send_email(**kwargs)`` takes boto3's ``sesv2`` keyword
    arguments and returns boto3's dict.  Methods are made on first use and
    cached; ``dir()`` lists them all.
    """

    def __init__(self, client: SESClient | AsyncSESClient, api: str) -> None:
        self._client = client
        self._endpoint = client._core.endpoints[api]
        self._api = api

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self._endpoint.operation(name)  # AttributeError for unknown names
        invoke = self._client._invoke
        endpoint = self._endpoint

        def operation(**params: Any) -> Any:
            return invoke(endpoint, name, params)

        operation.__name__ = name
        operation.__qualname__ = f"{self._api}.{name}"
        operation.__doc__ = f"SES {self._api} {endpoint.operation(name)[0]} (boto3's kwargs)."
        setattr(self, name, operation)
        return operation

    def __dir__(self) -> Iterable[str]:
        from ._models import load

        return [*load(self._api).OPERATIONS, "can_paginate", "get_paginator", "get_waiter"]

    def can_paginate(self, name: str) -> bool:
        from ._models import load

        return name in load(self._api).PAGINATORS

    def get_paginator(self, name: str) -> Any:
        """boto3's paginator for ``name``: ``.paginate(**kwargs)`` yields pages."""
        from ._models import load

        spec = load(self._api).PAGINATORS.get(name)
        if spec is None:
            raise ValueError(f"SES {self._api} has no paginator for {name!r}")
        if isinstance(self._client, AsyncSESClient):
            return _AsyncPaginator(self._client, self._endpoint, name, spec)
        return _Paginator(self._client, self._endpoint, name, spec)

    def get_waiter(self, name: str) -> Any:
        """boto3's waiter ``name`` (SES v1 has ``identity_exists``): ``.wait(**kwargs)``."""
        from ._models import load

        spec = load(self._api).WAITERS.get(name)
        if spec is None:
            raise ValueError(f"SES {self._api} has no waiter {name!r}")
        if isinstance(self._client, AsyncSESClient):
            return _AsyncWaiter(self._client, self._endpoint, spec)
        return _Waiter(self._client, self._endpoint, spec)


_URL_CACHE_SIZE = 512


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _cached_target(cache: dict[str, tuple[httpx.URL, str]], url: str) -> tuple[httpx.URL, str]:
    """``(parsed URL, Host header)``, worked out once per distinct URL.

    httpx's URL parsing is a large share of a send's cost.
    """
    target = cache.get(url)
    if target is None:
        if len(cache) >= _URL_CACHE_SIZE:
            cache.clear()
        parsed = httpx.URL(url)
        host = parsed.netloc.decode("ascii")
        target = cache[url] = (parsed, host)
    return target


class _BaseClient:
    _core: _ClientCore
    _http: Any
    _transport: Any

    def __init__(
        self, core: _ClientCore, *, http_client: Any, transport: Any, owns_http: bool
    ) -> None:
        self._core = core
        self._v1: _Operations | None = None
        self._v2: _Operations | None = None
        self._urls: dict[str, tuple[httpx.URL, str]] = {}
        self._http = http_client
        # With a pool of our own, requests go straight to its transport: SES needs
        # none of the client layer's cookies, redirects or auth, which cost more per
        # send than everything sesclient does.
        self._transport = transport
        self._owns_http = owns_http
        # Requests built by hand skip httpx's build_request, which is where the
        # client's timeout would otherwise be attached.
        self._extensions = {"timeout": http_client.timeout.as_dict()}

    def _request(self, call: Call, credentials: Any) -> httpx.Request:
        """The next attempt of ``call`` as an httpx request, signed with ``credentials``.

        The framing headers are set here and the body handed over as a ready
        stream, which spares httpx a second pass over the headers to add them.
        """
        method, url, headers, body = call.request(credentials)
        target, host = _cached_target(self._urls, url)
        headers["Host"] = host
        if body or method in _BODY_METHODS:
            headers["Content-Length"] = str(len(body))
        headers["User-Agent"] = _USER_AGENT
        request = httpx.Request(
            method,
            target,
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions=self._extensions,
        )
        request.read()  # a bytes body: makes request.content available, as content= would
        return request

    @property
    def api(self) -> str:
        """The API that :meth:`send_email` uses: ``"v1"`` or ``"v2"``."""
        return self._core.api

    @property
    def region(self) -> str:
        return self._core.region

    @property
    def v1(self) -> _Operations:
        """Every SES v1 (Query API) operation, with boto3 ``ses`` names and shapes."""
        if self._v1 is None:
            self._v1 = _Operations(self, "v1")  # type: ignore[arg-type]
        return self._v1

    @property
    def v2(self) -> _Operations:
        """Every SESv2 (REST API) operation, with boto3 ``sesv2`` names and shapes."""
        if self._v2 is None:
            self._v2 = _Operations(self, "v2")  # type: ignore[arg-type]
        return self._v2

    def with_options(
        self, *, api: str | None = None, retries: int | RetryPolicy | None = None
    ) -> Self:
        """A client on the same pool and credentials, with another ``api`` or ``retries``.

        Closing the derived client leaves the pool open; close the original.
        A bulk sender, for instance, wants ``client.with_options(retries=1)`` so
        that throttling reaches its rate limiter at once.
        """
        derived = object.__new__(type(self))
        derived.__dict__.update(self.__dict__)
        derived._core = self._core.derive(api=api, retries=retries)
        derived._owns_http = False
        derived._v1 = derived._v2 = None
        return derived

    def _prepare_send(self, kwargs: dict[str, Any]) -> tuple[Endpoint, str, dict[str, Any]]:
        from ._message import build_send

        operation, params = build_send(self._core.api, **kwargs)
        return self._core.endpoints[self._core.api], operation, params

    def _send_result(self, response: Mapping[str, Any]) -> SendResult:
        return SendResult(
            response["MessageId"],
            response["ResponseMetadata"].get("RequestId"),
            self._core.api,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._core!r})"


class SESClient(_BaseClient):
    """A synchronous SES client over one pooled ``httpx.Client``; safe to share across threads.

    ``region`` and ``credentials`` default to the AWS chain (environment,
    shared files, container, EC2).  ``api`` picks the API :meth:`send_email`
    uses; ``client.v1`` and ``client.v2`` reach every operation of either.
    ``retries`` is a maximum attempt count or a :class:`RetryPolicy`.
    Pass your own ``http_client`` to share a pool; the client then leaves it
    open on :meth:`close`.
    """

    def __init__(
        self,
        region: str | None = None,
        credentials: Credentials | Any = None,
        *,
        api: str = "v2",
        endpoint_url: str | None = None,
        fips: bool | None = None,
        profile: str | None = None,
        max_connections: int = 100,
        timeout: float | httpx.Timeout = 30.0,
        retries: int | RetryPolicy | None = None,
        http2: bool = False,
        http_client: httpx.Client | None = None,
    ) -> None:
        # Configuration first: a bad region or endpoint must not leave a pool behind.
        core = _ClientCore(
            region,
            credentials,
            api=api,
            endpoint_url=endpoint_url,
            fips=fips,
            retries=retries,
            profile=profile,
        )
        owns_http = http_client is None
        transport = None
        if http_client is None:
            _http2_guard(http2)
            limits = _limits(max_connections)
            if _environment_proxies():  # httpx's client layer is what honours them
                http_client = httpx.Client(limits=limits, timeout=timeout, http2=http2)
            else:
                transport = httpx.HTTPTransport(limits=limits, http2=http2)
                http_client = httpx.Client(transport=transport, timeout=timeout)
        super().__init__(core, http_client=http_client, transport=transport, owns_http=owns_http)

    if TYPE_CHECKING:  # the generated stubs know every operation's arguments and result

        @property
        def v1(self) -> V1Operations: ...  # type: ignore[override]

        @property
        def v2(self) -> V2Operations: ...  # type: ignore[override]

    def _invoke(self, endpoint: Endpoint, name: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._run(endpoint.start(name, params))

    def _run(self, call: Call) -> dict[str, Any]:
        credentials = self._core.credentials
        send = self._http.send
        transport = self._transport
        outcome: dict[str, Any] | float
        while True:
            request = self._request(call, credentials.get())
            try:
                if transport is not None:
                    response = transport.handle_request(request)
                    response.read()
                else:
                    response = send(request)
            except httpx.TransportError as exc:
                outcome = call.transport_failed(exc)
            else:
                outcome = call.received(response.status_code, response.headers, response.content)
            if type(outcome) is not float:
                return outcome  # type: ignore[return-value]
            time.sleep(outcome)

    def send_email(self, **kwargs: Any) -> SendResult:
        """Send one message through the client's API.

        Takes ``from_addr``, ``to``, ``cc``, ``bcc``, ``reply_to``, ``subject``,
        ``text``, ``html``, ``template``, ``template_data``, ``attachments``,
        ``headers``, ``configuration_set`` and ``tags``; ``to`` (and the other
        address arguments) take a list or a comma-separated string.  Bad input
        raises :class:`SESValidationError` before anything is sent.
        """
        endpoint, operation, params = self._prepare_send(kwargs)
        return self._send_result(self._invoke(endpoint, operation, params))

    def close(self) -> None:
        """Close the connection pool (unless it was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SESClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncSESClient(_BaseClient):
    """The asyncio twin of :class:`SESClient`: the same surface, as coroutines.

    By default it runs on sesclient's own HTTP/1.1 transport, whose cost per
    request stays flat however many are in flight.
    """

    def __init__(
        self,
        region: str | None = None,
        credentials: Credentials | Any = None,
        *,
        api: str = "v2",
        endpoint_url: str | None = None,
        fips: bool | None = None,
        profile: str | None = None,
        max_connections: int = 100,
        timeout: float | httpx.Timeout = 30.0,
        retries: int | RetryPolicy | None = None,
        http2: bool = False,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        # Configuration first: a bad region or endpoint must not leave a pool behind.
        core = _ClientCore(
            region,
            credentials,
            api=api,
            endpoint_url=endpoint_url,
            fips=fips,
            retries=retries,
            profile=profile,
        )
        owns_http = http_client is None
        transport = None
        if http_client is None:
            _http2_guard(http2)
            limits = _limits(max_connections)
            if http2:
                http_client = httpx.AsyncClient(limits=limits, timeout=timeout, http2=True)
            else:
                transport = _fast_transport(limits)
                http_client = httpx.AsyncClient(transport=transport, timeout=timeout)
        super().__init__(core, http_client=http_client, transport=transport, owns_http=owns_http)

    if TYPE_CHECKING:

        @property
        def v1(self) -> AsyncV1Operations: ...  # type: ignore[override]

        @property
        def v2(self) -> AsyncV2Operations: ...  # type: ignore[override]

    async def _invoke(
        self, endpoint: Endpoint, name: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._run(endpoint.start(name, params))

    async def _run(self, call: Call) -> dict[str, Any]:
        credentials = self._core.credentials
        send = self._http.send
        transport = self._transport
        outcome: dict[str, Any] | float
        while True:
            request = self._request(call, await credentials.aget())
            try:
                if transport is not None:
                    response = await transport.handle_async_request(request)
                    await response.aread()
                else:
                    response = await send(request)
            except httpx.TransportError as exc:
                outcome = call.transport_failed(exc)
            else:
                outcome = call.received(response.status_code, response.headers, response.content)
            if type(outcome) is not float:
                return outcome  # type: ignore[return-value]
            await _sleep(outcome)

    async def send_email(self, **kwargs: Any) -> SendResult:
        """Send one message; the arguments are those of :meth:`SESClient.send_email`."""
        endpoint, operation, params = self._prepare_send(kwargs)
        return self._send_result(await self._invoke(endpoint, operation, params))

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncSESClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _fast_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    from ._transport import AsyncHTTP11Transport

    return AsyncHTTP11Transport(limits=limits)


async def _sleep(seconds: float) -> None:
    # asyncio is imported here, not at the top: the sync client must not pay for it.
    import asyncio

    await asyncio.sleep(seconds)


class _Paginator:
    def __init__(
        self, client: SESClient, endpoint: Endpoint, name: str, spec: tuple[Any, ...]
    ) -> None:
        self._client, self._endpoint, self._name, self._spec = client, endpoint, name, spec

    def paginate(
        self, *, PaginationConfig: Mapping[str, Any] | None = None, **params: Any
    ) -> Iterator[dict[str, Any]]:
        from ._paginate import PagePlan

        plan = PagePlan(self._spec, params, PaginationConfig)
        while (request := plan.next_params()) is not None:
            yield plan.add_page(self._client._invoke(self._endpoint, self._name, request))


class _AsyncPaginator:
    def __init__(
        self, client: AsyncSESClient, endpoint: Endpoint, name: str, spec: tuple[Any, ...]
    ) -> None:
        self._client, self._endpoint, self._name, self._spec = client, endpoint, name, spec

    async def paginate(
        self, *, PaginationConfig: Mapping[str, Any] | None = None, **params: Any
    ) -> AsyncIterator[dict[str, Any]]:
        from ._paginate import PagePlan

        plan = PagePlan(self._spec, params, PaginationConfig)
        while (request := plan.next_params()) is not None:
            page = await self._client._invoke(self._endpoint, self._name, request)
            yield plan.add_page(page)


def _waiter_error(plan: Any, reason: str) -> Exception:
    from ._paginate import WaiterError

    return WaiterError(
        f"Waiter {plan.operation} failed: {reason} after {plan.attempts} attempt(s)",
        code="WaiterError",
    )


class _Waiter:
    def __init__(self, client: SESClient, endpoint: Endpoint, spec: tuple[Any, ...]) -> None:
        self._client, self._endpoint, self._spec = client, endpoint, spec

    def wait(self, *, WaiterConfig: Mapping[str, Any] | None = None, **params: Any) -> None:
        from ._errors import SESError
        from ._paginate import WaitPlan

        plan = WaitPlan(self._spec, WaiterConfig)
        while True:
            try:
                response, error = self._client._invoke(self._endpoint, plan.operation, params), None
            except SESError as exc:
                response, error = None, exc
            state = plan.check(response, error)
            if state == "success":
                return
            if state != "retry":
                raise _waiter_error(
                    plan,
                    "the resource reached a failure state"
                    if state == "failure"
                    else "max attempts exceeded",
                )
            time.sleep(plan.delay)


class _AsyncWaiter:
    def __init__(self, client: AsyncSESClient, endpoint: Endpoint, spec: tuple[Any, ...]) -> None:
        self._client, self._endpoint, self._spec = client, endpoint, spec

    async def wait(self, *, WaiterConfig: Mapping[str, Any] | None = None, **params: Any) -> None:
        from ._errors import SESError
        from ._paginate import WaitPlan

        plan = WaitPlan(self._spec, WaiterConfig)
        while True:
            try:
                response = await self._client._invoke(self._endpoint, plan.operation, params)
                error = None
            except SESError as exc:
                response, error = None, exc
            state = plan.check(response, error)
            if state == "success":
                return
            if state != "retry":
                raise _waiter_error(
                    plan,
                    "the resource reached a failure state"
                    if state == "failure"
                    else "max attempts exceeded",
                )
            await _sleep(plan.delay)
