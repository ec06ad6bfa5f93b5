"""The local SES endpoint: :class:`LocalSES` on asyncio, :class:`LocalSESThread` for sync callers.

Requests are routed by path: ``/v2/email/...`` is SES v2 (REST-JSON), ``/_inbox``
the inbox page and its JSON API, and any other ``POST`` SES v1 (Query).  The wire
formats come from the same sans-IO protocol code the client uses
(:mod:`sesclient._query`, :mod:`sesclient._restjson`), the signature check from
:mod:`sesclient.sigv4`; this module only routes, injects faults and counts.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

from .._errors import SESValidationError
from ._config import LocalSESConfig
from ._faults import (
    FAULT_NAMES,
    INTERNAL_ERROR,
    PASS,
    RESET_AFTER,
    RESET_BEFORE,
    THROTTLE,
    UNAVAILABLE,
    FaultInjector,
    SESFault,
)
from ._http import RESET, Delayed, HTTPProtocol, Outcome, Request, Response, WriteCoalescer
from ._service import LocalService
from ._store import Store, open_store

__all__ = ["LocalSES", "LocalSESThread"]

logger = logging.getLogger("sesclient.local")

_XML = "text/xml"
_JSON = "application/json"

# SignatureError codes of sesclient.sigv4 -> fault kinds.
_SIGNATURE_KINDS = {
    "SignatureDoesNotMatch": "SignatureDoesNotMatch",
    "InvalidClientTokenId": "InvalidClientTokenId",
    "IncompleteSignature": "IncompleteSignature",
    "MissingAuthenticationToken": "MissingAuthenticationToken",
    "SignatureExpired": "SignatureExpired",
    "RequestTimeTooSkewed": "SignatureExpired",
}

_FAULT_MESSAGES = {
    THROTTLE: ("Throttled", "Maximum sending rate exceeded."),
    INTERNAL_ERROR: (
        "InternalFailure",
        "The request processing has failed because of an unknown error.",
    ),
    UNAVAILABLE: ("ServiceUnavailable", "Service is unable to handle request."),
}


# Newer botocore releases send these List operations as POST with a JSON body
# to new paths; the generated tables know only the original GET routes.  Their
# parameters (NextToken, PageSize) are the same either way.
_MOVED_V2 = {
    ("POST", "/v2/email/list-identities"): "ListEmailIdentities",
    ("POST", "/v2/email/list-configuration-sets"): "ListConfigurationSets",
}


def _moved_params(body: bytes) -> dict[str, Any]:
    import json

    try:
        document = json.loads(body) if body.strip() else {}
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        return {}
    params: dict[str, Any] = {}
    if isinstance(document.get("NextToken"), str):
        params["NextToken"] = document["NextToken"]
    if isinstance(document.get("PageSize"), int):
        params["PageSize"] = document["PageSize"]
    return params


class LocalSES:
    """An SES-compatible HTTP endpoint on the running event loop.

    ``LocalSES(config)`` or ``LocalSES(port=8005, sandbox=True)`` (fields of
    :class:`LocalSESConfig`).  ``await start()`` binds (port 0 picks a free
    one, see :attr:`port`), ``await stop()`` closes every connection.
    """

    def __init__(self, config: LocalSESConfig | None = None, **overrides: Any) -> None:
        self.config = LocalSESConfig.build(config, **overrides)
        self._server: asyncio.Server | None = None
        self._connections: set[HTTPProtocol] = set()
        self._store: Store | None = None
        self._service: LocalService | None = None
        self._faults = FaultInjector(self.config)
        self._port = self.config.port
        request_prefix = str(uuid.uuid4())[:24]
        counter = itertools.count(1)
        self._request_id: Callable[[], str] = lambda: f"{request_prefix}{next(counter):012x}"
        self._inbox: Any = None
        self._v1: dict[str, Any] = {}
        self._v2: dict[str, Any] = {}
        self._decode_query: Any = None
        self._encode_query: Any = None
        self._encode_query_error: Any = None
        self._decode_restjson: Any = None
        self._encode_restjson: Any = None
        self._encode_restjson_error: Any = None
        self._verify_request: Any = None
        self._signature_error: Any = Exception

    # -- life cycle ------------------------------------------------------------

    async def start(self, *, reuse_port: bool = False) -> None:
        """Open the store and listen.  ``reuse_port`` lets several processes share the port."""
        if self._server is not None:
            raise RuntimeError("LocalSES is already started")
        from .. import _query, _restjson
        from ..sigv4 import SignatureError, verify_parsed_request
        from . import _v1, _v2
        from ._inbox import Inbox

        # Bound once: the request path should not pay for import statements.
        self._v1 = _v1.OPERATIONS
        self._v2 = _v2.OPERATIONS
        self._decode_query = _query.decode_query_request
        self._encode_query = _query.encode_query_response
        self._encode_query_error = _query.encode_query_error
        self._decode_restjson = _restjson.decode_restjson_request
        self._encode_restjson = _restjson.encode_restjson_response
        self._encode_restjson_error = _restjson.encode_restjson_error
        self._verify_request = verify_parsed_request
        self._signature_error = SignatureError
        self._store = open_store(self.config.db)
        self._service = LocalService(self.config, self._store)
        self._inbox = Inbox(self._service)
        loop = asyncio.get_running_loop()
        config = self.config
        coalescer = WriteCoalescer(loop)
        try:
            self._server = await loop.create_server(
                lambda: HTTPProtocol(
                    self.handle,
                    connections=self._connections,
                    max_body=config.max_body_size,
                    on_error=self._log_crash,
                    coalescer=coalescer,
                ),
                host=config.host,
                port=config.port,
                reuse_port=reuse_port or None,
                backlog=1024,
            )
        except BaseException:
            self._store.close()
            self._store = None
            raise
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening, close every connection, close the store."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for connection in list(self._connections):
            connection.close()
        await server.wait_closed()
        if self._store is not None:
            self._store.close()
            self._store = None

    async def __aenter__(self) -> LocalSES:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- facts -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The endpoint URL to give a client (``endpoint_url=``)."""
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        elif host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self._port}"

    @property
    def inbox_url(self) -> str:
        return f"{self.url}/_inbox"

    @property
    def service(self) -> LocalService:
        """The account state (identities, templates, store, limits); for tests and tools."""
        if self._service is None:
            raise RuntimeError("LocalSES is not started")
        return self._service

    # -- requests ---------------------------------------------------------------

    def handle(self, request: Request) -> Outcome:
        """Answer one request (the HTTP protocol's application callable)."""
        path = request.path
        if path.startswith("/v2/"):
            outcome = self._api("v2", request)
        elif path.startswith("/_inbox"):
            outcome = self._inbox.handle(request)
        elif request.method == "POST":
            outcome = self._api("v1", request)
        elif path == "/" and request.method in ("GET", "HEAD"):
            body = (
                b"Local SES endpoint (sesclient). SES v1 at POST /, SES v2 at /v2/email/..., "
                b"inbox at /_inbox\n"
            )
            outcome = (200, [("Content-Type", "text/plain; charset=utf-8")], body)
        else:
            outcome = (404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n")
        if self.config.debug:
            status = outcome[0] if isinstance(outcome, tuple) else repr(outcome)
            print(f"{request.method} {request.path} -> {status}", file=sys.stderr)
        return outcome

    def _api(self, api: str, request: Request) -> Outcome:
        request_id = self._request_id()
        try:
            if self.config.check_signatures:
                self._verify(request)
            if api == "v1":
                operation, params = self._decode_query(request.body)
            else:
                operation, params = self._decode_restjson(
                    request.method, request.path, request.query, request.body
                )
        except SESFault as fault:
            return self._error(api, fault, request_id)
        except SESValidationError as exc:
            moved = _MOVED_V2.get((request.method, request.path)) if api == "v2" else None
            if moved is None or exc.code != "NotFoundException":
                code = exc.code or ("ValidationError" if api == "v1" else "BadRequestException")
                return self._error(api, SESFault(code, exc.message), request_id)
            operation, params = moved, _moved_params(request.body)
        faults = self._faults
        if faults.enabled and operation in faults.operations:
            decision = faults.decide()
            if faults.latency:
                return Delayed(
                    faults.latency,
                    lambda: self._faulted(api, operation, params, request_id, decision),
                )
            return self._faulted(api, operation, params, request_id, decision)
        return self._run(api, operation, params, request_id)

    def _faulted(
        self, api: str, operation: str, params: dict[str, Any], request_id: str, decision: int
    ) -> Response | Any:
        if decision == PASS:
            return self._run(api, operation, params, request_id)
        self.service.store.incr(f"faults.{FAULT_NAMES[decision]}")
        if decision == RESET_BEFORE:
            return RESET
        if decision == RESET_AFTER:
            self._run(api, operation, params, request_id)
            return RESET
        kind, message = _FAULT_MESSAGES[decision]
        return self._error(api, SESFault(kind, message), request_id)

    def _run(self, api: str, operation: str, params: dict[str, Any], request_id: str) -> Response:
        handler = (self._v1 if api == "v1" else self._v2).get(operation)
        try:
            if handler is None:
                raise SESFault(
                    "UnsupportedOperation",
                    f"{operation} is a valid SES operation but the local endpoint does not "
                    "implement it.",
                )
            result = handler(self._service, params)
        except SESFault as fault:
            return self._error(api, fault, request_id)
        except Exception:
            logger.exception("local SES endpoint: %s failed", operation)
            return self._error(
                api,
                SESFault("InternalFailure", f"The local endpoint failed to process {operation}."),
                request_id,
            )
        if api == "v1":
            body = self._encode_query(operation, result, request_id=request_id)
            return 200, [("Content-Type", _XML), ("x-amzn-RequestId", request_id)], body
        status, body = self._encode_restjson(operation, result)
        return status, [("Content-Type", _JSON), ("x-amzn-RequestId", request_id)], body

    def _error(self, api: str, fault: SESFault, request_id: str) -> Response:
        code, status = fault.wire(api)
        if api == "v1":
            body = self._encode_query_error(
                code, fault.message, request_id=request_id, sender_fault=fault.sender_fault
            )
            return status or 400, [("Content-Type", _XML), ("x-amzn-RequestId", request_id)], body
        status, headers, body = self._encode_restjson_error(code, fault.message, status=status)
        header_list = list(headers.items())
        header_list.append(("x-amzn-RequestId", request_id))
        return status, header_list, body

    def _verify(self, request: Request) -> None:
        try:
            # The HTTP layer's header dict (lower-case names, repeats joined) is
            # what the signature is checked against: no second parse.
            scope = self._verify_request(
                request.method,
                request.path,
                request.query,
                request.headers,
                request.body,
                lookup_secret=self._lookup_secret,
            )
        except self._signature_error as exc:
            kind = _SIGNATURE_KINDS.get(exc.code, exc.code)
            raise SESFault(kind, exc.message) from None
        if scope.region != self.config.region:
            raise SESFault(
                "SignatureDoesNotMatch",
                f"Credential should be scoped to a valid region, not '{scope.region}'. "
                f"This endpoint serves '{self.config.region}'.",
            )
        if scope.service != "ses":
            raise SESFault(
                "SignatureDoesNotMatch",
                f"Credential should be scoped to correct service: 'ses', not '{scope.service}'.",
            )

    def _lookup_secret(self, access_key_id: str) -> str | None:
        config = self.config
        return config.secret_access_key if access_key_id == config.access_key_id else None

    def _log_crash(self, exc: BaseException) -> None:
        logger.error("local SES endpoint: request failed", exc_info=exc)


class LocalSESThread:
    """Runs a :class:`LocalSES` on its own event loop in a background thread.

    For synchronous callers (tests, scripts, the pytest fixture)::

        with LocalSESThread(verified_identities=("sender@example.com",)) as server:
            boto3.client("sesv2", endpoint_url=server.url, ...)
    """

    def __init__(self, config: LocalSESConfig | None = None, **overrides: Any) -> None:
        self.server = LocalSES(config, **overrides)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def config(self) -> LocalSESConfig:
        return self.server.config

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def inbox_url(self) -> str:
        return self.server.inbox_url

    def start(self, timeout: float = 10.0) -> LocalSESThread:
        """Start the server and wait until it listens; raises what start-up raised."""
        if self._thread is not None:
            raise RuntimeError("LocalSESThread is already started")
        self._thread = threading.Thread(target=self._main, name="local-ses", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the local SES endpoint did not start in time")
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise self._failure
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and its thread.  Safe to call twice."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None:
            loop.call_soon_threadsafe(stopped.set)
        thread.join(timeout)

    def call(self, function: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``function`` on the server's loop thread and return its result."""
        if self._loop is None:
            raise RuntimeError("LocalSESThread is not started")

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def __enter__(self) -> LocalSESThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start() through _failure
            if not self._ready.is_set():
                self._failure = exc
                self._ready.set()
            else:
                logger.exception("local SES endpoint thread failed")

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        await self.server.start()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            await self.server.stop()
