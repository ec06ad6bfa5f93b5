"""The exception hierarchy.

Every failure that sesclient reports is an :class:`SESError`.  SES v1 and v2
name the same failure differently (``MessageRejected`` in both, but
``AccountSendingPausedException`` against ``SendingPausedException``); the
subclasses here are shared by both APIs wherever the meaning is the same, so
that one ``except`` clause covers either API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AccessDenied",
    "AccountSendingPaused",
    "AlreadyExists",
    "ConfigurationSetDoesNotExist",
    "ConnectionFailed",
    "DailyQuotaExceeded",
    "InvalidCredentials",
    "LimitExceeded",
    "MailFromDomainNotVerified",
    "MessageRejected",
    "NoCredentialsError",
    "NotFound",
    "RegionError",
    "RequestExpired",
    "SESError",
    "SESValidationError",
    "SendOutcomeUnknown",
    "ServiceError",
    "SignatureDoesNotMatch",
    "TemplateDoesNotExist",
    "Throttling",
    "error_class_for",
]


class SESError(Exception):
    """Base class of every error sesclient raises.

    ``code``, ``message``, ``status_code``, ``request_id`` and ``type`` come from
    the service's reply when there was one; errors raised before any request
    (validation, missing credentials) have ``status_code`` and ``request_id``
    of ``None``.  ``response`` rebuilds botocore's ``ClientError.response``
    dict, so code written against boto3's error dicts keeps working.
    """

    #: Whether sending the same request again may succeed.
    retryable: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        type: str | None = None,
        operation: str | None = None,
        api: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.code = code or type_name_to_code(self)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.type = type
        self.operation = operation
        self.api = api
        self.headers: Mapping[str, str] = headers or {}
        self.details = details or {}
        super().__init__(message)

    def __str__(self) -> str:
        where = f" ({self.operation})" if self.operation else ""
        return f"{self.code}{where}: {self.message}" if self.message else f"{self.code}{where}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"status_code={self.status_code!r}, request_id={self.request_id!r})"
        )

    @property
    def response(self) -> dict[str, Any]:
        """The error in botocore's ``ClientError.response`` shape."""
        error: dict[str, Any] = {"Code": self.code, "Message": self.message}
        if self.type:
            error["Type"] = self.type
        metadata: dict[str, Any] = {"HTTPHeaders": dict(self.headers), "RetryAttempts": 0}
        if self.request_id is not None:
            metadata["RequestId"] = self.request_id
        if self.status_code is not None:
            metadata["HTTPStatusCode"] = self.status_code
        result: dict[str, Any] = {"Error": error, "ResponseMetadata": metadata}
        if self.api == "v2":
            result["message"] = self.message
        result.update(self.details)
        return result


def type_name_to_code(error: SESError) -> str:
    return type(error).__name__


class SESValidationError(SESError, ValueError):
    """Bad input, found before any request was made.

    ``field`` names the parameter the way boto3 does (``Destination.ToAddresses[0]``)
    or the high-level argument (``to``).
    """

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("code", "ValidationError")
        super().__init__(message, **kwargs)
        self.field = field


class NoCredentialsError(SESError):
    """No credentials could be found by any provider in the chain."""


class RegionError(SESError, ValueError):
    """No region was configured, or the region string is malformed."""


class SendOutcomeUnknown(SESError):
    """The request was sent, but no reply came back.

    SES may or may not have accepted the message.  Sending it again risks a
    duplicate; not sending it risks a loss.  sesclient never decides this for
    you: pass ``retry_unknown_outcome=True`` to the client to retry anyway.
    """


class ConnectionFailed(SESError):
    """The connection failed before the request was sent; nothing reached SES."""

    retryable = True


class ServiceError(SESError):
    """SES answered with a 5xx: an internal failure or unavailability."""

    retryable = True


class MessageRejected(SESError):
    """SES refused the message (content, virus, or sandbox recipient)."""


class MailFromDomainNotVerified(SESError):
    """The MAIL FROM domain is not verified."""


class NotFound(SESError):
    """The named resource does not exist."""


class ConfigurationSetDoesNotExist(NotFound):
    """The configuration set does not exist."""


class TemplateDoesNotExist(NotFound):
    """The template does not exist."""


class AlreadyExists(SESError):
    """The resource already exists."""


class AccountSendingPaused(SESError):
    """Sending is paused for the account (or the configuration set)."""


class LimitExceeded(SESError):
    """A resource limit was reached (too many identities, templates, …)."""


class Throttling(SESError):
    """The account's maximum send rate was exceeded.  Worth retrying later."""

    retryable = True

    @property
    def daily_quota_exceeded(self) -> bool:
        """True when the 24-hour sending quota, not the rate, is exhausted."""
        return False


class DailyQuotaExceeded(Throttling):
    """The 24-hour sending quota is used up.  Never retried: it will not pass today."""

    retryable = False

    @property
    def daily_quota_exceeded(self) -> bool:
        return True


class AccessDenied(SESError):
    """The credentials are valid but not allowed to make this call."""


class InvalidCredentials(SESError):
    """The access key is unknown, malformed, expired or missing."""


class SignatureDoesNotMatch(InvalidCredentials):
    """The signature did not match: usually a wrong secret key."""


class RequestExpired(SESError):
    """The request's signing time is too far from SES's clock."""


_BY_CODE: dict[str, type[SESError]] = {
    "MessageRejected": MessageRejected,
    "MailFromDomainNotVerified": MailFromDomainNotVerified,
    "MailFromDomainNotVerifiedException": MailFromDomainNotVerified,
    "ConfigurationSetDoesNotExist": ConfigurationSetDoesNotExist,
    "TemplateDoesNotExist": TemplateDoesNotExist,
    "NotFoundException": NotFound,
    "AlreadyExists": AlreadyExists,
    "AlreadyExistsException": AlreadyExists,
    "AccountSendingPausedException": AccountSendingPaused,
    "ConfigurationSetSendingPausedException": AccountSendingPaused,
    "SendingPausedException": AccountSendingPaused,
    "AccountSuspendedException": AccountSendingPaused,
    "Throttling": Throttling,
    "ThrottlingException": Throttling,
    "TooManyRequestsException": Throttling,
    "LimitExceeded": LimitExceeded,
    "LimitExceededException": LimitExceeded,
    "SignatureDoesNotMatch": SignatureDoesNotMatch,
    "IncompleteSignature": InvalidCredentials,
    "InvalidClientTokenId": InvalidCredentials,
    "UnrecognizedClientException": InvalidCredentials,
    "MissingAuthenticationToken": InvalidCredentials,
    "MissingAuthenticationTokenException": InvalidCredentials,
    "ExpiredToken": InvalidCredentials,
    "ExpiredTokenException": InvalidCredentials,
    "AccessDenied": AccessDenied,
    "AccessDeniedException": AccessDenied,
    "RequestExpired": RequestExpired,
    "RequestTimeTooSkewed": RequestExpired,
    "InternalFailure": ServiceError,
    "InternalServiceErrorException": ServiceError,
    "ServiceUnavailable": ServiceError,
    "ServiceUnavailableException": ServiceError,
}

# Codes that are throttling in meaning though their class above says otherwise:
# SESv2 reports the sending rate as LimitExceededException.
_RETRYABLE_LIMIT_CODES = frozenset({"LimitExceededException"})


def error_class_for(code: str, message: str, status_code: int | None) -> type[SESError]:
    """Pick the exception class for a service error.

    The daily quota and the send rate share the ``Throttling`` code (v1) and
    ``LimitExceededException`` (v2); only the message tells them apart, and
    the difference matters: one passes in a second, the other not before
    tomorrow.
    """
    lowered = message.lower()
    if "daily message quota exceeded" in lowered:
        return DailyQuotaExceeded
    if "signature expired" in lowered or "time too skewed" in lowered:
        return RequestExpired
    if code == "InvalidSignatureException":
        return RequestExpired if "expired" in lowered else SignatureDoesNotMatch
    if code == "NotFoundException" and "template" in lowered:
        return TemplateDoesNotExist
    if code in _RETRYABLE_LIMIT_CODES and (
        "rate" in lowered or "too many requests" in lowered or not lowered
    ):
        return Throttling
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = _BY_CODE.get(code.removesuffix("Exception"))
    if cls is not None:
        return cls
    if status_code is not None and status_code >= 500:
        return ServiceError
    if status_code == 429:
        return Throttling
    return SESError
