"""Errors the local endpoint answers with, and the seeded fault injector.

Handlers raise :class:`SESFault` with a *kind* (``"Throttled"``,
``"TemplateNotFound"``, ...) rather than a wire code, because SES v1 and v2
name the same refusal differently; the server picks the code and HTTP status
for the API that was called.
"""

from __future__ import annotations

import random
from typing import Final

from ._config import LocalSESConfig

__all__ = ["KINDS", "FaultInjector", "SESFault"]

#: kind -> (v1 code, v1 status, v2 code, v2 status); a status of None leaves it to the model.
KINDS: Final[dict[str, tuple[str, int, str, int | None]]] = {
    "MessageRejected": ("MessageRejected", 400, "MessageRejected", None),
    "Throttled": ("Throttling", 400, "TooManyRequestsException", None),
    # SESv2 has no dedicated quota error; LimitExceededException (400) keeps the
    # daily quota apart from the retryable 429 of the sending rate.
    "DailyQuota": ("Throttling", 400, "LimitExceededException", None),
    "InvalidParameter": ("InvalidParameterValue", 400, "BadRequestException", None),
    "TemplateNotFound": ("TemplateDoesNotExist", 400, "NotFoundException", None),
    "NotFound": ("NotFound", 400, "NotFoundException", None),
    "AlreadyExists": ("AlreadyExists", 400, "AlreadyExistsException", None),
    "InvalidTemplate": ("InvalidTemplate", 400, "BadRequestException", None),
    "MissingRenderingAttribute": ("MissingRenderingAttribute", 400, "BadRequestException", None),
    "InvalidRenderingParameter": ("InvalidRenderingParameter", 400, "BadRequestException", None),
    "InvalidNextToken": ("InvalidParameterValue", 400, "InvalidNextTokenException", None),
    "UnsupportedOperation": ("InvalidAction", 400, "BadRequestException", None),
    "InternalFailure": ("InternalFailure", 500, "InternalFailure", 500),
    "ServiceUnavailable": ("ServiceUnavailable", 503, "ServiceUnavailable", 503),
    # Authentication.  AWS signs a request that is too old off as a signature
    # failure whose message starts "Signature expired"; botocore's clock-skew
    # correction and sesclient both look for that text.
    "SignatureDoesNotMatch": ("SignatureDoesNotMatch", 403, "SignatureDoesNotMatch", 403),
    "SignatureExpired": ("SignatureDoesNotMatch", 403, "InvalidSignatureException", 403),
    "InvalidClientTokenId": ("InvalidClientTokenId", 403, "UnrecognizedClientException", 403),
    "IncompleteSignature": ("IncompleteSignature", 400, "IncompleteSignatureException", 403),
    "MissingAuthenticationToken": (
        "MissingAuthenticationToken",
        403,
        "MissingAuthenticationTokenException",
        403,
    ),
}


class SESFault(Exception):
    """A refusal to send back to the client as the called API's error."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def wire(self, api: str) -> tuple[str, int | None]:
        """``(code, status)`` for ``api`` ("v1" or "v2"); status None: the model's."""
        entry = KINDS.get(self.kind)
        if entry is None:
            return self.kind, (400 if api == "v1" else None)
        return (entry[0], entry[1]) if api == "v1" else (entry[2], entry[3])

    @property
    def sender_fault(self) -> bool:
        return self.kind not in ("InternalFailure", "ServiceUnavailable")

    def __repr__(self) -> str:
        return f"SESFault({self.kind!r}, {self.message!r})"


# What the injector decides for one request.
PASS: Final = 0
RESET_BEFORE: Final = 1
THROTTLE: Final = 2
INTERNAL_ERROR: Final = 3
UNAVAILABLE: Final = 4
RESET_AFTER: Final = 5

#: Decision -> the name it is counted under in ``/_inbox/api/stats``.
FAULT_NAMES: Final[dict[int, str]] = {
    RESET_BEFORE: "reset_before",
    THROTTLE: "throttle",
    INTERNAL_ERROR: "internal_error",
    UNAVAILABLE: "service_unavailable",
    RESET_AFTER: "reset_after",
}


class FaultInjector:
    """Decides, reproducibly, which faultable request gets which fault.

    Every faultable request consumes exactly two draws from one
    ``random.Random(seed)`` whatever the outcome, so the n-th faultable
    request of a run always meets the same fate for the same seed.
    """

    def __init__(self, config: LocalSESConfig) -> None:
        self._random = random.Random(config.seed)
        self.operations = config.fault_operations
        self.latency = config.latency_ms / 1000.0
        self.enabled = config.faults_enabled
        bounds = []
        edge = 0.0
        for decision, rate in (
            (RESET_BEFORE, config.reset_before_rate),
            (THROTTLE, config.throttle_rate),
            (INTERNAL_ERROR, config.error_rate),
            (RESET_AFTER, config.reset_after_rate),
        ):
            if rate > 0:
                edge += rate
                bounds.append((edge, decision))
        self._bounds = tuple(bounds)

    def applies(self, operation: str) -> bool:
        return self.enabled and operation in self.operations

    def decide(self) -> int:
        draw = self._random.random()
        split = self._random.random()
        for edge, decision in self._bounds:
            if draw < edge:
                if decision == INTERNAL_ERROR and split >= 0.5:
                    return UNAVAILABLE
                return decision
        return PASS
