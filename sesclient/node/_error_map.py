"""Turning SES errors into node errors: what happened, and what the author can do.

Codes a workflow can branch on:

=======================  ==========================================================
``RecipientNotVerified``  sandbox account and a recipient is not verified
``SenderNotVerified``     the From address/domain (or MAIL FROM domain) is not verified
``MessageRejected``       SES refused the content for another reason
``Throttled``             the maximum send rate was exceeded (retryable)
``DailyQuotaExceeded``    the 24-hour sending quota is used up
``InvalidCredentials``    unknown key ID, wrong secret key, or no credentials
``AccessDenied``          the credentials lack permission to send
``ClockSkew``             the signing time is too far from SES's clock
``TemplateNotFound``      the template does not exist in the chosen location
``NotFound``              another named resource does not exist
``SendingPaused``         sending is paused or the account suspended
``LimitExceeded``         an account limit was reached
``OutcomeUnknown``        the request went out but no reply came back
``ConnectionFailed``      nothing reached SES (retryable)
``ServiceUnavailable``    SES failed internally (retryable)
``InvalidInput``          the client refused the message before sending
``SESError``              anything else SES reported
=======================  ==========================================================
"""

from __future__ import annotations

import re

from sesclient import _errors as e

from ._errors import NodeError
from ._schema import field_spec

__all__ = ["map_send_error"]

_FAILED_IDENTITIES = re.compile(r"failed the check in region [^:]*:\s*(?P<ids>.+)$", re.I | re.S)
_ANGLE = re.compile(r"<([^<>]+)>\s*$")

# The client's high-level argument names -> the node's fields.
_ARGUMENT_FIELDS = {
    "from_addr": "from",
    "to": "to",
    "subject": "subject",
    "text": "body",
    "html": "body",
    "template": "template_name",
    "template_data": "template_variables",
}


def _label(key: str) -> str:
    return str(field_spec(key)["label"])


def _bare(address: str) -> str:
    match = _ANGLE.search(address)
    return (match.group(1) if match else address).strip().lower()


def _failed_identities(message: str) -> list[str]:
    match = _FAILED_IDENTITIES.search(message)
    if not match:
        return []
    return [_bare(part) for part in match.group("ids").split(",") if part.strip()]


def _sender_is_unverified(message: str, from_addr: str) -> bool:
    failed = _failed_identities(message)
    sender = _bare(from_addr)
    domain = sender.rpartition("@")[2]
    return sender in failed or domain in failed


def map_send_error(
    exc: e.SESError, *, from_addr: str, region: str, api: str, secret: str | None = None
) -> NodeError:
    """The node error for an exception the client raised while sending.

    ``secret``, when given, is scrubbed from the message as a last line of
    defence; the client never puts it there.
    """
    error = _map(exc, from_addr=from_addr, region=region, api=api)
    error.request_id = exc.request_id
    if secret:
        error.message = error.message.replace(secret, "[secret]")
        error.args = (error.message,)
    return error


def _map(exc: e.SESError, *, from_addr: str, region: str, api: str) -> NodeError:
    said = exc.message or exc.code
    # Order matters: subclasses before their bases.
    if isinstance(exc, e.SESValidationError):
        key = _ARGUMENT_FIELDS.get((exc.field or "").split("[")[0].split(".")[0])
        return NodeError(
            "InvalidInput",
            f"The email was refused before sending: {said}",
            "Fix the value named in the message.",
            _label(key) if key else None,
        )
    if isinstance(exc, e.MessageRejected):
        if "not verified" in said.lower():
            if _sender_is_unverified(said, from_addr):
                return _sender_not_verified(said, region)
            return NodeError(
                "RecipientNotVerified",
                f"SES refused a recipient: {said}",
                "This SES account is in the sandbox, where every recipient must be a "
                f"verified identity in {region}. Verify the recipient in the SES console, "
                "or request production access for the account to send to anyone.",
                _label("to"),
            )
        return NodeError(
            "MessageRejected",
            f"SES rejected the message: {said}",
            "Check the message content (SES rejects, for example, messages with a "
            "virus or a blocked attachment type) and the sender.",
        )
    if isinstance(exc, e.MailFromDomainNotVerified):
        return _sender_not_verified(said, region)
    if isinstance(exc, e.DailyQuotaExceeded):
        return NodeError(
            "DailyQuotaExceeded",
            f"The account's 24-hour sending quota is used up: {said}",
            "Sending resumes as the 24-hour window moves on. To send more per day, "
            "request a higher sending quota in the SES console.",
        )
    if isinstance(exc, e.Throttling):
        return NodeError(
            "Throttled",
            f"SES's maximum send rate was exceeded: {said}",
            "Run the step again in a moment, lower the batch concurrency, or request a "
            "higher maximum send rate in the SES console.",
            retryable=True,
        )
    if isinstance(exc, e.SignatureDoesNotMatch):
        return NodeError(
            "InvalidCredentials",
            f"SES did not accept the credentials: {said}",
            "The secret access key does not belong to the key ID: check that the stored "
            "secret holds the right key, for this AWS SES Key ID.",
            _label("secret_access_key"),
        )
    if isinstance(exc, (e.InvalidCredentials, e.NoCredentialsError)):
        return NodeError(
            "InvalidCredentials",
            f"SES did not accept the credentials: {said}",
            "Check the AWS SES Key ID: the key may be mistyped, deleted or inactive. "
            "Create a new access key in IAM if needed, and store its secret.",
            _label("access_key_id"),
        )
    if isinstance(exc, e.AccessDenied):
        verb = "ses:SendEmail" if api == "v2" else "ses:SendEmail and ses:SendTemplatedEmail"
        return NodeError(
            "AccessDenied",
            f"The credentials may not send email: {said}",
            f"Give the IAM user or role permission for {verb} on the sender identity in {region}.",
            _label("access_key_id"),
        )
    if isinstance(exc, e.RequestExpired):
        return NodeError(
            "ClockSkew",
            f"SES refused the request's signing time: {said}",
            "The clock of the machine running the workflow is wrong; synchronise it (NTP).",
        )
    if isinstance(exc, e.TemplateDoesNotExist):
        return NodeError(
            "TemplateNotFound",
            f"The template does not exist: {said}",
            f"Create the template in SES in {region} (templates are per region and per "
            "API account), or correct the Template Name.",
            _label("template_name"),
        )
    if isinstance(exc, e.NotFound):
        return NodeError(
            "NotFound", f"SES could not find a resource: {said}", "Check the names used."
        )
    if isinstance(exc, e.AccountSendingPaused):
        return NodeError(
            "SendingPaused",
            f"Sending is paused for this account: {said}",
            "Check the account's status in the SES console (reputation dashboard) and "
            "resume sending there.",
        )
    if isinstance(exc, e.LimitExceeded):
        return NodeError(
            "LimitExceeded",
            f"An SES account limit was reached: {said}",
            "Check the account's limits in the SES console, or request an increase.",
        )
    if isinstance(exc, e.SendOutcomeUnknown):
        return NodeError(
            "OutcomeUnknown",
            f"The request reached SES but no reply came back, so the email may or may "
            f"not have been sent: {said}",
            "Do not blindly run the step again: that may send a duplicate. Check whether "
            "the recipient got the email (or SES's sending statistics) first.",
        )
    if isinstance(exc, e.ConnectionFailed):
        return NodeError(
            "ConnectionFailed",
            f"Could not connect to SES; nothing was sent: {said}",
            "Check the network and the Endpoint URL, then run the step again.",
            retryable=True,
        )
    if isinstance(exc, e.ServiceError):
        return NodeError(
            "ServiceUnavailable",
            f"SES failed to handle the request: {said}",
            "This is on SES's side; run the step again later.",
            retryable=True,
        )
    return NodeError(
        "SESError",
        f"SES reported an error: {exc}",
        "Check the message and the node's settings.",
        retryable=exc.retryable,
    )


def _sender_not_verified(said: str, region: str) -> NodeError:
    return NodeError(
        "SenderNotVerified",
        f"SES refused the sender: {said}",
        f"Verify the From address, or its domain, in SES in {region} (identities are "
        "per region); for a custom MAIL FROM domain, publish its MX and SPF records.",
        _label("from"),
    )
