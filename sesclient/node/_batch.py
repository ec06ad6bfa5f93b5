"""Sending a batch run's emails: the one seam between the node and the bulk engine.

:func:`send_all` splits a batch into units and sends them one unit after another:

* every item addressed to one recipient, grouped by (sender, template): each
  group is one :class:`sesclient.bulk.BulkSender` run.  Templated items go out
  up to 50 to a SendBulkEmail (v2) / SendBulkTemplatedEmail (v1) call with
  their own template data; items with their own subject and body go out one
  SendEmail each.  The engine paces recipients to the account's send rate,
  keeps ``concurrency`` requests in flight, absorbs throttling (its client
  makes one attempt per request, so that throttling reaches its limiter) and
  reports every recipient.
* every item addressed to several recipients at once: one message with
  several ``To`` addresses, which a bulk call cannot express.  Those go out
  one request each over the node's own client (its retry policy, as a
  single run), at most ``concurrency`` in flight, paced by the bulk engine's
  rate limiter.

Units take turns rather than running side by side, each at the account's
full rate, so that together they never outpace it.  A batch whose items
share sender and template (the usual case) is a single unit.

The account's send quota is read once per batch (GetAccount / GetSendQuota).
When the batch has more recipients than the 24-hour quota has left, nothing
is sent and every item fails with :class:`~sesclient.DailyQuotaExceeded`:
a batch is sent whole or not at all, so that running it again later sends
nobody twice.  When the quota runs out during the batch (other senders share
it), the engine stops, and the items not sent fail with the same error.  An
account-wide refusal (daily quota, bad credentials, sending paused) also
fails the later units' items without sending them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sesclient import _errors as e

from ._render import OutgoingEmail

__all__ = ["DEFAULT_CONCURRENCY", "send_all"]

DEFAULT_CONCURRENCY = 10

_log = logging.getLogger("sesclient.node")

# The engine reports a recipient it refused before sending as ``ValidationError``
# with the message ``"<argument>: <what is wrong>"``; its names -> the client's.
_ENGINE_FIELDS = {"address": "to"}

# Codes of bulk entries (v2 and v1 spellings) and of a stopped run that
# error_class_for does not know, as the errors a single send raises.
_ENTRY_ERRORS: dict[str, type[e.SESError]] = {
    "DailyQuotaExceeded": e.DailyQuotaExceeded,
    "ACCOUNT_DAILY_QUOTA_EXCEEDED": e.DailyQuotaExceeded,
    "AccountDailyQuotaExceeded": e.DailyQuotaExceeded,
    "ACCOUNT_THROTTLED": e.Throttling,
    "AccountThrottled": e.Throttling,
    "TRANSIENT_FAILURE": e.ServiceError,
    "TransientFailure": e.ServiceError,
    "MESSAGE_REJECTED": e.MessageRejected,
    "MAIL_FROM_DOMAIN_NOT_VERIFIED": e.MailFromDomainNotVerified,
    "TEMPLATE_NOT_FOUND": e.TemplateDoesNotExist,
    "CONFIGURATION_SET_NOT_FOUND": e.ConfigurationSetDoesNotExist,
    "ACCOUNT_SUSPENDED": e.AccountSendingPaused,
    "AccountSuspended": e.AccountSendingPaused,
    "ACCOUNT_SENDING_PAUSED": e.AccountSendingPaused,
    "AccountSendingPaused": e.AccountSendingPaused,
    "CONFIGURATION_SET_SENDING_PAUSED": e.AccountSendingPaused,
    "ConfigurationSetSendingPaused": e.AccountSendingPaused,
}

# Refusals that no later unit of the batch can escape: same account, same key.
_BATCH_WIDE = (e.DailyQuotaExceeded, e.InvalidCredentials, e.AccountSendingPaused)


async def send_all(
    client: Any, emails: Sequence[OutgoingEmail], *, concurrency: int = DEFAULT_CONCURRENCY
) -> list[Any]:
    """Send every email through ``client`` (an ``AsyncSESClient``), via the bulk engine.

    Returns one outcome per email, in order: a ``SendResult`` (for an email
    sent in a bulk call, its ``request_id`` is that call's) or the exception a
    single send would have raised for the same failure (an
    :class:`~sesclient.SESError`; :class:`~sesclient.SendOutcomeUnknown` when
    SES may or may not have it; anything else is a bug, logged).  Every email
    gets an outcome; none is dropped, and one failure does not stop the others
    (except the batch-wide refusals described in the module docstring).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    outcomes: list[Any] = [None] * len(emails)
    if not emails:
        return outcomes
    # Keyed by (sender, template); None holds the items with several recipients.
    units: dict[tuple[str, str | None] | None, list[int]] = {}
    for index, email in enumerate(emails):
        key = (email.from_addr, email.template) if len(email.to) == 1 else None
        units.setdefault(key, []).append(index)
    try:
        rate, refusal = await _account_limits(client, emails)
    except Exception as exc:  # not an SES error: the client itself is broken
        _log.error("unexpected error reading the send quota for a batch", exc_info=True)
        return [exc] * len(emails)
    if refusal is not None:
        return [refusal] * len(emails)
    # One attempt per request: the engine's limiter, not the client, deals with throttling.
    bulk_client = client.with_options(retries=1) if units.keys() - {None} else None
    stopped: BaseException | None = None
    for key, indexes in units.items():
        if stopped is not None:
            for index in indexes:
                outcomes[index] = stopped
            continue
        if key is None:
            await _send_each(client, emails, indexes, outcomes, concurrency=concurrency, rate=rate)
        else:
            await _send_group(
                bulk_client,
                emails,
                indexes,
                outcomes,
                concurrency=concurrency,
                rate=rate,
            )
        for index in indexes:
            outcome = outcomes[index]
            if outcome is None:  # the engine promises an outcome; never let a gap pass
                _log.error("the bulk engine reported no outcome for batch item %d", index)
                outcomes[index] = RuntimeError("the bulk engine reported no outcome")
            elif stopped is None and isinstance(outcome, _BATCH_WIDE):
                stopped = outcome
    return outcomes


async def _account_limits(
    client: Any, emails: Sequence[OutgoingEmail]
) -> tuple[float | None, e.DailyQuotaExceeded | None]:
    """The rate to pace at (None: unknown), and the refusal of a batch the quota cannot take."""
    from sesclient.bulk._sender import SEEDED_RATE_HEADROOM

    try:
        if client.api == "v1":
            quota = await client.v1.get_send_quota()
            metadata = quota.get("ResponseMetadata") or {}
        else:
            account = await client.v2.get_account()
            quota = account.get("SendQuota") or {}
            metadata = account.get("ResponseMetadata") or {}
    except e.SESError as exc:
        # An IAM policy that allows sending only is common: pace by SES's replies alone.
        _log.warning(
            "batch: cannot read the send quota (%s); pacing by throttling replies only "
            "and not checking the daily quota first",
            exc,
        )
        return None, None
    rate = float(quota.get("MaxSendRate", -1) or -1)
    maximum = float(quota.get("Max24HourSend", -1) or -1)
    if maximum > 0:  # -1: no daily limit
        left = max(0.0, maximum - float(quota.get("SentLast24Hours", 0) or 0))
        needed = sum(len(email.to) for email in emails)
        if needed > left:
            return None, e.DailyQuotaExceeded(
                f"the batch has {needed} recipient(s) but only {left:.0f} are left of the "
                "account's 24-hour sending quota; nothing was sent",
                code="DailyQuotaExceeded",
                api=client.api,
                request_id=metadata.get("RequestId"),
            )
    return (rate * SEEDED_RATE_HEADROOM if rate > 0 else None), None


async def _send_group(
    client: Any,
    emails: Sequence[OutgoingEmail],
    indexes: list[int],
    outcomes: list[Any],
    *,
    concurrency: int,
    rate: float | None,
) -> None:
    """One BulkSender run for items that share sender and template, one recipient each."""
    from sesclient._client import SendResult
    from sesclient.bulk import BulkSender, Recipient, RecipientResult

    first = emails[indexes[0]]
    if first.template is not None:
        recipients = [
            Recipient(emails[index].to[0], template_data=emails[index].template_data or None)
            for index in indexes
        ]
    else:
        recipients = [
            Recipient(email.to[0], subject=email.subject, text=email.text, html=email.html)
            for email in (emails[index] for index in indexes)
        ]
    api = client.api

    def record(result: RecipientResult) -> None:
        assert result.position is not None  # every result of a run that read a list has one
        index = indexes[result.position]
        if result.ok:
            outcomes[index] = SendResult(result.message_id or "", result.request_id, api)
        else:
            outcomes[index] = _error(result, api)

    try:
        sender = BulkSender(
            client,
            from_addr=first.from_addr,
            template=first.template,
            concurrency=concurrency,
            rate=rate,
            # Checked once for the whole batch; SES still reports a quota that runs out.
            check_quota=False,
            on_result=record,
        )
        await sender.run(recipients)
    except Exception as exc:  # the run as a whole failed: every unsettled item says why
        if not isinstance(exc, e.SESError):
            _log.error("unexpected error in a batch's bulk run", exc_info=True)
        for index in indexes:
            if outcomes[index] is None:
                outcomes[index] = exc


async def _send_each(
    client: Any,
    emails: Sequence[OutgoingEmail],
    indexes: list[int],
    outcomes: list[Any],
    *,
    concurrency: int,
    rate: float | None,
) -> None:
    """One request per item with several recipients, paced like the engine's."""
    import asyncio

    from sesclient.bulk._limiter import RateLimiter

    limiter = RateLimiter(rate)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        email = emails[index]
        async with gate:
            wait = limiter.reserve(len(email.to))
            if wait > 0:
                await asyncio.sleep(wait)
            sent_at = limiter.now()
            try:
                outcomes[index] = await client.send_email(**email.send_kwargs())
            except Exception as exc:  # reported per item, never lost
                throttled = isinstance(exc, e.Throttling) and not isinstance(
                    exc, e.DailyQuotaExceeded
                )
                limiter.answered(len(email.to), len(email.to) if throttled else 0)
                if throttled:
                    limiter.throttled(sent_at)
                elif not isinstance(exc, e.SESError):
                    _log.error("unexpected error sending a batch item", exc_info=True)
                outcomes[index] = exc
            else:
                limiter.answered(len(email.to))

    await asyncio.gather(*(one(index) for index in indexes))


def _error(result: Any, api: str) -> e.SESError:
    """The exception a single send would have raised for this recipient's outcome."""
    code = result.code or "Failed"
    message = result.message or code
    if result.status == "unknown":
        return e.SendOutcomeUnknown(message, code=code, api=api, request_id=result.request_id)
    if code == "ValidationError":
        name = message.partition(":")[0].strip()
        return e.SESValidationError(message, field=_ENGINE_FIELDS.get(name, name), api=api)
    cls = e.error_class_for(code, message, None)
    if cls is e.SESError:
        cls = _ENTRY_ERRORS.get(code, e.SESError)
    return cls(message, code=code, api=api, request_id=result.request_id)
