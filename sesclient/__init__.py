"""sesclient: a small, fast, boto3-compatible client for Amazon SES.

The public names are re-exported here and imported on first use, so that
``import sesclient`` costs little more than ``import httpx``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "SESClient": "sesclient._client",
    "AsyncSESClient": "sesclient._client",
    "SendResult": "sesclient._client",
    "Credentials": "sesclient._credentials",
    "RetryPolicy": "sesclient._retry",
    "Attachment": "sesclient._message",
    "AsyncHTTP11Transport": "sesclient._transport",
    "WaiterError": "sesclient._paginate",
    "SESError": "sesclient._errors",
    "SESValidationError": "sesclient._errors",
    "SendOutcomeUnknown": "sesclient._errors",
    "ConnectionFailed": "sesclient._errors",
    "ServiceError": "sesclient._errors",
    "MessageRejected": "sesclient._errors",
    "MailFromDomainNotVerified": "sesclient._errors",
    "NotFound": "sesclient._errors",
    "ConfigurationSetDoesNotExist": "sesclient._errors",
    "TemplateDoesNotExist": "sesclient._errors",
    "AlreadyExists": "sesclient._errors",
    "AccountSendingPaused": "sesclient._errors",
    "LimitExceeded": "sesclient._errors",
    "Throttling": "sesclient._errors",
    "DailyQuotaExceeded": "sesclient._errors",
    "AccessDenied": "sesclient._errors",
    "InvalidCredentials": "sesclient._errors",
    "SignatureDoesNotMatch": "sesclient._errors",
    "RequestExpired": "sesclient._errors",
    "NoCredentialsError": "sesclient._errors",
    "RegionError": "sesclient._errors",
}

__all__ = [
    "AccessDenied",
    "AccountSendingPaused",
    "AlreadyExists",
    "AsyncHTTP11Transport",
    "AsyncSESClient",
    "Attachment",
    "ConfigurationSetDoesNotExist",
    "ConnectionFailed",
    "Credentials",
    "DailyQuotaExceeded",
    "InvalidCredentials",
    "LimitExceeded",
    "MailFromDomainNotVerified",
    "MessageRejected",
    "NoCredentialsError",
    "NotFound",
    "RegionError",
    "RequestExpired",
    "RetryPolicy",
    "SESClient",
    "SESError",
    "SESValidationError",
    "SendOutcomeUnknown",
    "SendResult",
    "ServiceError",
    "SignatureDoesNotMatch",
    "TemplateDoesNotExist",
    "Throttling",
    "WaiterError",
    "__version__",
]

if TYPE_CHECKING:
    from ._client import AsyncSESClient, SendResult, SESClient
    from ._credentials import Credentials
    from ._errors import (
        AccessDenied,
        AccountSendingPaused,
        AlreadyExists,
        ConfigurationSetDoesNotExist,
        ConnectionFailed,
        DailyQuotaExceeded,
        InvalidCredentials,
        LimitExceeded,
        MailFromDomainNotVerified,
        MessageRejected,
        NoCredentialsError,
        NotFound,
        RegionError,
        RequestExpired,
        SendOutcomeUnknown,
        ServiceError,
        SESError,
        SESValidationError,
        SignatureDoesNotMatch,
        TemplateDoesNotExist,
        Throttling,
    )
    from ._message import Attachment
    from ._paginate import WaiterError
    from ._retry import RetryPolicy
    from ._transport import AsyncHTTP11Transport


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sesclient' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
