"""One API call as a sans-IO state machine, shared by the sync and async clients.

A :class:`Call` validates and serialises its parameters once, then, for each
attempt, hands out a signed request and digests what came back: a parsed
dict, a delay before the next attempt, or a raised :class:`SESError`.  The
clients only move bytes::

    call = core.start("v2", "send_email", params)
    while True:
        method, url, headers, body = call.request(credentials)
        try:
            response = http.request(method, url, headers=headers, content=body)
        except httpx.TransportError as exc:
            outcome = call.transport_failed(exc)
        else:
            outcome = call.received(response.status_code, response.headers, response.content)
        if type(outcome) is not float:
            return outcome
        sleep(outcome)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from . import _errors
from ._errors import SESError
from ._retry import RetryPolicy, RetryQuota
from ._timestamps import UTC

logger = logging.getLogger("sesclient")

#: Operations that deliver mail: retrying them after the request went out may send twice.
SEND_OPERATIONS = frozenset(
    {
        "SendEmail",
        "SendRawEmail",
        "SendTemplatedEmail",
        "SendBulkTemplatedEmail",
        "SendBulkEmail",
        "SendBounce",
        "SendCustomVerificationEmail",
    }
)

# Connection failures that happen before any byte of the request is written.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
_DEFAULT_CODES = {500: "InternalFailure", 502: "BadGateway", 503: "ServiceUnavailable"}


class Endpoint:
    """Where and how one API of one client sends: base URL, region and the clock correction.

    Holds the state that outlives a call (the learnt clock offset, the retry
    quota), shared by every call of the client.
    """

    __slots__ = ("api", "base_url", "clock_offset", "policy", "quota", "region", "tables")

    def __init__(self, *, api: str, base_url: str, region: str, policy: RetryPolicy) -> None:
        self.api = api
        self.base_url = base_url
        self.region = region
        self.policy = policy
        self.quota = RetryQuota()
        self.clock_offset = 0.0
        self.tables: Any = None

    def operation(self, name: str) -> tuple[Any, ...]:
        """The table entry for a snake_case operation name; AttributeError if unknown."""
        if self.tables is None:
            from ._models import load

            self.tables = load(self.api)
        try:
            return self.tables.OPERATIONS[name]
        except KeyError:
            raise AttributeError(
                f"SES {self.api} has no operation {name!r} (see dir(client.{self.api}))"
            ) from None

    def start(self, name: str, params: Mapping[str, Any]) -> Call:
        return Call(self, self.operation(name), params)

    def now(self) -> datetime:
        stamp = datetime.now(UTC)
        return stamp + timedelta(seconds=self.clock_offset) if self.clock_offset else stamp


class Call:
    """The attempts of one operation: signed requests out, outcomes in."""

    __slots__ = (
        "_attempt",
        "_body",
        "_endpoint",
        "_headers",
        "_method",
        "_operation",
        "_retry_tokens",
        "_skew_corrected",
        "_started",
        "_url",
    )

    def __init__(
        self, endpoint: Endpoint, operation: tuple[Any, ...], params: Mapping[str, Any]
    ) -> None:
        from ._validation import validate

        self._endpoint = endpoint
        self._operation = operation
        validate(endpoint.tables.SHAPES, operation[3], params)
        if endpoint.api == "v1":
            from . import _query

            self._method = "POST"
            path = "/"
            self._body = _query.serialize_request(operation[0], params)
            self._headers = {"Content-Type": _query.CONTENT_TYPE}
        else:
            from . import _restjson

            self._method, path, self._body = _restjson.serialize_request(operation, params)
            self._headers = {"Content-Type": _restjson.CONTENT_TYPE} if self._body else {}
        self._url = endpoint.base_url + path
        self._attempt = 0
        self._retry_tokens = 0
        self._skew_corrected = False
        self._started = 0.0

    @property
    def name(self) -> str:
        return self._operation[0]

    @property
    def attempt(self) -> int:
        return self._attempt

    def request(self, credentials: Any) -> tuple[str, str, dict[str, str], bytes]:
        """``(method, url, headers, body)`` for the next attempt, freshly signed."""
        from .sigv4 import sign_request

        self._attempt += 1
        self._started = time.perf_counter()
        headers = sign_request(
            self._method,
            self._url,
            self._headers,
            self._body,
            credentials=credentials,
            region=self._endpoint.region,
            service="ses",
            timestamp=self._endpoint.now(),
        )
        return self._method, self._url, headers, self._body

    def received(
        self, status: int, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any] | float:
        """Digest a reply: the parsed result, or seconds to wait before retrying.

        Raises the matching :class:`SESError` when the call is over.
        """
        # One pass to a plain dict with lower-case names: httpx.Headers scans on every get.
        headers = {name.lower(): value for name, value in headers.items()}
        if 200 <= status < 300:
            if self._endpoint.api == "v1":
                from ._query import parse_response as parse_query

                parsed = parse_query(self._operation[0], status, headers, body)
            else:
                from ._restjson import parse_response as parse_json

                parsed = parse_json(self._operation, status, headers, body)
            metadata = parsed["ResponseMetadata"]
            metadata["RetryAttempts"] = self._attempt - 1
            self._endpoint.quota.release(self._retry_tokens)
            if logger.isEnabledFor(logging.DEBUG):
                self._log(status, metadata.get("RequestId"))
            return parsed
        error = self._error(status, headers, body)
        if logger.isEnabledFor(logging.DEBUG):
            self._log(status, error.request_id, error.code)
        if (
            isinstance(error, _errors.RequestExpired)
            and not self._skew_corrected
            and self._learn_clock(headers)
        ):
            self._skew_corrected = True
            self._attempt -= 1  # the corrected retry does not spend an attempt
            return 0.0
        if error.retryable or status in _RETRYABLE_STATUS:
            delay = self._retry_delay(timeout=False)
            if delay is not None:
                return delay
        raise error

    def transport_failed(self, exc: Exception) -> float:
        """Digest a connection failure: seconds to wait, or raise."""
        sent = not isinstance(exc, _NOT_SENT)
        if logger.isEnabledFor(logging.DEBUG):
            self._log(None, None, type(exc).__name__)
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if (
            sent
            and self.name in SEND_OPERATIONS
            and not self._endpoint.policy.retry_unknown_outcome
        ):
            raise self._unknown(f"the request was sent but no reply came back ({detail})") from exc
        delay = self._retry_delay(timeout=True)
        if delay is not None:
            return delay
        if sent and self.name in SEND_OPERATIONS:
            raise self._unknown(f"no reply after {self._attempt} attempts ({detail})") from exc
        where = "before the request was sent" if not sent else "before a reply came back"
        raise _errors.ConnectionFailed(
            f"the connection failed {where} after {self._attempt} attempt(s): {detail}",
            code="ConnectionFailed",
            operation=self.name,
            api=self._endpoint.api,
        ) from exc

    def _unknown(self, what: str) -> _errors.SendOutcomeUnknown:
        return _errors.SendOutcomeUnknown(
            f"{what}; SES may or may not have accepted the message",
            code="SendOutcomeUnknown",
            operation=self.name,
            api=self._endpoint.api,
        )

    def _retry_delay(self, *, timeout: bool) -> float | None:
        policy = self._endpoint.policy
        if self._attempt >= policy.max_attempts:
            return None
        tokens = self._endpoint.quota.acquire(timeout=timeout)
        if not tokens:
            return None
        self._retry_tokens += tokens
        return policy.backoff(self._attempt)

    def _error(self, status: int, headers: Mapping[str, str], body: bytes) -> SESError:
        request_id = headers.get("x-amzn-requestid") or headers.get("x-amz-request-id")
        error_type: str | None = None
        if self._endpoint.api == "v1":
            from ._query import parse_error as parse_query_error

            code, message, error_type, body_request_id = parse_query_error(body)
            request_id = body_request_id or request_id
        else:
            from ._restjson import parse_error as parse_json_error

            code, message = parse_json_error(headers, body)
        if not code:
            code = _DEFAULT_CODES.get(status, f"HTTP{status}")
        cls = _errors.error_class_for(code, message, status)
        if (
            cls is _errors.LimitExceeded
            and code == "LimitExceededException"
            and self.name in SEND_OPERATIONS
        ):
            # SESv2 reports the sending rate this way on sends.
            cls = _errors.Throttling
        return cls(
            message,
            code=code,
            status_code=status,
            request_id=request_id,
            type=error_type,
            operation=self.name,
            api=self._endpoint.api,
            headers=headers,
        )

    def _learn_clock(self, headers: Mapping[str, str]) -> bool:
        """Set the endpoint's clock offset from the reply's ``Date`` header."""
        date = headers.get("date")
        if not date:
            return False
        from email.utils import parsedate_to_datetime

        try:
            server_time = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return False
        if server_time.tzinfo is None:
            server_time = server_time.replace(tzinfo=UTC)
        offset = (server_time - datetime.now(UTC)).total_seconds()
        logger.info("correcting the clock by %.0f s from the server's Date header", offset)
        self._endpoint.clock_offset = offset
        return True

    def _log(self, status: int | None, request_id: str | None, code: str | None = None) -> None:
        elapsed = (time.perf_counter() - self._started) * 1000
        logger.debug(
            "%s %s attempt=%d status=%s request_id=%s%s elapsed=%.1fms",
            self._endpoint.api,
            self.name,
            self._attempt,
            status if status is not None else "-",
            request_id or "-",
            f" error={code}" if code else "",
            elapsed,
        )
