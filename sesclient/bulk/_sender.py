"""The bulk sending engine: :class:`BulkSender` and the run it drives.

A run reads recipients lazily (any iterable or async iterable), checks each
one before anything is sent, and sends them in units: up to 50 recipients
per SendBulkEmail (v2) or SendBulkTemplatedEmail (v1) call in a template
run, or one SendEmail per recipient that brings its own content.  At most
``concurrency`` requests are in flight; a :class:`RateLimiter` paces
recipients to the account's send rate and backs off on throttling.

Every recipient ends as exactly one :class:`RecipientResult`: ``sent``,
``failed`` (with a code and whether a later run may succeed) or ``unknown``
(the request went out and no answer came back).  Throttled recipients were
not accepted and are sent again; 5xx answers, connection failures before the
request went out and transient bulk entries are retried with backoff, up to
``max_attempts`` attempts per recipient.

When the daily quota runs out (seen before the run, counted during it, or
reported by SES) or SES refuses the whole account (sending paused, bad
credentials, missing template), the run stops cleanly: requests in flight
finish, and every recipient not sent is reported ``failed`` with the code
that stopped the run and ``retryable=True``, and journaled ``not_sent`` so
that a resumed run sends it.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import json
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sized
from os import PathLike
from typing import TYPE_CHECKING, Any

from .._addresses import normalize_address, parse_recipients
from .._errors import (
    AccessDenied,
    AccountSendingPaused,
    DailyQuotaExceeded,
    InvalidCredentials,
    MailFromDomainNotVerified,
    NotFound,
    SendOutcomeUnknown,
    SESError,
    SESValidationError,
    Throttling,
)
from .._message import MAX_TEMPLATE_DATA_LENGTH, build_send
from . import _journal as J
from ._input import Malformed, Recipient, coerce_recipient
from ._limiter import RateLimiter
from ._result import FAILED, SENT, UNKNOWN, RecipientResult, RunSummary

if TYPE_CHECKING:
    from .._client import AsyncSESClient

__all__ = ["BulkRun", "BulkSender", "RecipientInput", "ResultCallback"]

logger = logging.getLogger("sesclient.bulk")

RecipientInput = Recipient | str | Mapping[str, Any]
ResultCallback = Callable[[RecipientResult], "Awaitable[Any] | Any"]

#: SES takes at most 50 destinations per bulk call.
MAX_BATCH = 50
#: Aim a little under the account's rate: the two token buckets (ours, SES's)
#: cannot be in lockstep, and arriving a millisecond early is a throttle.
SEEDED_RATE_HEADROOM = 0.97
#: How long a partial batch waits for more recipients from a slow source.
_LINGER = 0.02
#: Sync iterables are read in slices this long before the loop gets a turn.
_INTAKE_SLICE = 256

# What a bulk entry's status means, for v2 (BulkEmailStatus) and v1 names alike.
_ENTRY_SENT = "sent"
_ENTRY_THROTTLED = "throttled"
_ENTRY_TRANSIENT = "transient"
_ENTRY_QUOTA = "quota"
_ENTRY_ACCOUNT = "account"  # the whole account or run is refused: stop
_ENTRY_FAILED = "failed"  # generic failure: retried only when it speaks of throttling
_ENTRY_REJECTED = "rejected"  # this recipient's message is refused
_ENTRY_KINDS = {
    "SUCCESS": _ENTRY_SENT,
    "Success": _ENTRY_SENT,
    "ACCOUNT_THROTTLED": _ENTRY_THROTTLED,
    "AccountThrottled": _ENTRY_THROTTLED,
    "TRANSIENT_FAILURE": _ENTRY_TRANSIENT,
    "TransientFailure": _ENTRY_TRANSIENT,
    "ACCOUNT_DAILY_QUOTA_EXCEEDED": _ENTRY_QUOTA,
    "AccountDailyQuotaExceeded": _ENTRY_QUOTA,
    "MAIL_FROM_DOMAIN_NOT_VERIFIED": _ENTRY_ACCOUNT,
    "MailFromDomainNotVerified": _ENTRY_ACCOUNT,
    "CONFIGURATION_SET_NOT_FOUND": _ENTRY_ACCOUNT,
    "ConfigurationSetDoesNotExist": _ENTRY_ACCOUNT,
    "TEMPLATE_NOT_FOUND": _ENTRY_ACCOUNT,
    "TemplateDoesNotExist": _ENTRY_ACCOUNT,
    "ACCOUNT_SUSPENDED": _ENTRY_ACCOUNT,
    "AccountSuspended": _ENTRY_ACCOUNT,
    "INVALID_SENDING_POOL_NAME": _ENTRY_ACCOUNT,
    "InvalidSendingPoolName": _ENTRY_ACCOUNT,
    "ACCOUNT_SENDING_PAUSED": _ENTRY_ACCOUNT,
    "AccountSendingPaused": _ENTRY_ACCOUNT,
    "CONFIGURATION_SET_SENDING_PAUSED": _ENTRY_ACCOUNT,
    "ConfigurationSetSendingPaused": _ENTRY_ACCOUNT,
    "FAILED": _ENTRY_FAILED,
    "Failed": _ENTRY_FAILED,
    "MESSAGE_REJECTED": _ENTRY_REJECTED,
    "MessageRejected": _ENTRY_REJECTED,
    "INVALID_PARAMETER": _ENTRY_REJECTED,
    "InvalidParameterValue": _ENTRY_REJECTED,
}
_THROTTLE_WORDS = ("throttl", "rate exceeded", "too many requests", "sending rate")

# Errors that will not pass for any recipient of this run: stop instead of failing each.
_ACCOUNT_ERRORS = (
    InvalidCredentials,
    AccessDenied,
    AccountSendingPaused,
    NotFound,
    MailFromDomainNotVerified,
)


class _Item:
    """A checked recipient on its way through the run."""

    __slots__ = (
        "address",
        "attempts",
        "data_json",
        "id",
        "key",
        "position",
        "send",
        "sent_address",
    )

    def __init__(
        self,
        key: str,
        position: int,
        address: str,
        id: str | None,
        sent_address: str,
        data_json: str | None,
        send: tuple[str, dict[str, Any]] | None,
        attempts: int,
    ) -> None:
        self.key = key
        self.position = position
        self.address = address
        self.id = id
        #: The address as SES gets it (normalised).
        self.sent_address = sent_address
        #: Template data (JSON) of a bulk entry.
        self.data_json = data_json
        #: ``(operation, kwargs)`` of a recipient sent on its own; None for bulk entries.
        self.send = send
        self.attempts = attempts


class BulkSender:
    """Sends one message to many recipients, paced, batched and accounted for.

    ``client`` is an :class:`~sesclient.AsyncSESClient`; give it ``retries=1``
    (or a ``RetryPolicy(max_attempts=1)``) so that throttling reaches the
    sender's rate limiter at once instead of being slept on by the client.

    A template run (``template=``) sends the named SES template with each
    recipient's ``template_data``, 50 recipients per call.  A content run
    (``subject``, ``text``, ``html``) sends that message to each recipient on
    its own.  In either, a recipient with ``text`` or ``html`` of its own gets
    its own message.

    ``rate`` (recipients per second) overrides the account's maximum send rate,
    which is otherwise read from SES (GetAccount / GetSendQuota).
    ``concurrency`` caps the requests in flight, ``max_attempts`` the requests
    per recipient.  ``journal`` names an SQLite file recording each
    recipient's state; a crashed run resumes with the same path, the same input
    and ``resume=True``, sending nothing twice that SES acknowledged.
    Recipients whose request was in flight at the crash are reported
    ``unknown``; ``resend_unknown=True`` sends them (and earlier unknowns) again.

    The daily quota is checked before the run: when the input's length is
    known (a sized collection, or ``total=``) and exceeds what is left,
    :class:`~sesclient.DailyQuotaExceeded` is raised before anything is sent,
    unless ``allow_partial=True`` (then the run sends what the quota allows and
    stops).  ``on_result`` is called with every :class:`RecipientResult` (a
    coroutine function is awaited).
    """

    def __init__(
        self,
        client: AsyncSESClient,
        *,
        from_addr: str,
        template: str | None = None,
        subject: str | None = None,
        text: str | None = None,
        html: str | None = None,
        default_template_data: Mapping[str, Any] | None = None,
        reply_to: str | Iterable[str] | None = None,
        configuration_set: str | None = None,
        tags: Mapping[str, str] | None = None,
        api: str | None = None,
        rate: float | None = None,
        concurrency: int = 16,
        batch_size: int = MAX_BATCH,
        max_attempts: int = 8,
        retry_delay: float = 0.5,
        max_retry_delay: float = 20.0,
        journal: str | PathLike[str] | None = None,
        resume: bool = False,
        resend_unknown: bool = False,
        journal_synchronous: str = "NORMAL",
        check_quota: bool = True,
        allow_partial: bool = False,
        on_result: ResultCallback | None = None,
    ) -> None:
        self.client = client
        self.api = api or client.api
        if self.api not in ("v1", "v2"):
            raise SESValidationError(f"api must be 'v1' or 'v2', not {self.api!r}", field="api")
        if not from_addr:
            raise SESValidationError("from_addr: a sender address is required", field="from_addr")
        self.from_addr = normalize_address(from_addr, "from_addr")
        if template is not None:
            if not isinstance(template, str) or not template:
                raise SESValidationError(
                    "template: expected a non-empty template name", field="template"
                )
            clashing = [n for n, v in (("subject", subject), ("text", text), ("html", html)) if v]
            if clashing:
                raise SESValidationError(
                    f"template: a template brings its own subject and body; {', '.join(clashing)}"
                    " cannot be combined with template=",
                    field=clashing[0],
                )
        elif subject is not None and text is None and html is None:
            raise SESValidationError(
                "text: a subject without a body; pass text=, html= (or both), or template=",
                field="text",
            )
        if default_template_data is not None and template is None:
            raise SESValidationError(
                "default_template_data: given without template=", field="default_template_data"
            )
        self.template = template
        self.subject = subject
        self.text = text
        self.html = html
        self.default_template_data = _json_object(default_template_data, "default_template_data")
        self.reply_to = parse_recipients(reply_to, field="reply_to") if reply_to else []
        self.configuration_set = configuration_set
        self.tags = dict(tags) if tags else None
        if rate is not None and not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency!r}")
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self.rate = rate
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.journal = journal
        self.resume = resume
        self.resend_unknown = resend_unknown
        self.journal_synchronous = journal_synchronous
        self.check_quota = check_quota
        self.allow_partial = allow_partial
        self.on_result = on_result

    def results(
        self,
        recipients: Iterable[Any] | AsyncIterable[Any],
        *,
        total: int | None = None,
    ) -> BulkRun:
        """Start a run; iterate the returned :class:`BulkRun` for results as they come.

        ``total`` is the number of recipients when ``recipients`` cannot say
        (a generator, a file): it is used for the daily quota check.
        """
        return BulkRun(_Run(self, recipients, total))

    async def run(
        self,
        recipients: Iterable[Any] | AsyncIterable[Any],
        *,
        total: int | None = None,
    ) -> RunSummary:
        """Send to every recipient and return the summary (results go to ``on_result``)."""
        async with self.results(recipients, total=total) as run:
            async for _ in run:
                pass
        assert run.summary is not None
        return run.summary

    def describe(self) -> dict[str, Any]:
        """What makes two runs the same run, for the journal."""

        def digest(value: str | None) -> str | None:
            return hashlib.sha256(value.encode()).hexdigest()[:16] if value is not None else None

        return {
            "from": self.from_addr,
            "template": self.template,
            "subject": digest(self.subject),
            "text": digest(self.text),
            "html": digest(self.html),
            "default_template_data": digest(self.default_template_data),
        }


class BulkRun:
    """One run of a :class:`BulkSender`: an async iterator of :class:`RecipientResult`.

    ``summary`` is set once the iteration is over.  Leaving early (``break``)
    should be followed by :meth:`aclose`, or use ``async with``; closing stops
    the run, leaving recipients whose requests were in flight ``in_flight``
    in the journal (``unknown`` on resume).
    """

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._task: asyncio.Task[RunSummary] | None = None
        self.summary: RunSummary | None = None

    def __aiter__(self) -> BulkRun:
        return self

    async def __anext__(self) -> RecipientResult:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run.main())
        outbox = self._run.outbox
        while True:
            if outbox:
                return outbox.popleft()
            if self._task.done():
                if outbox:
                    continue
                self.summary = self._task.result()
                raise StopAsyncIteration
            waiter = self._run.wait_outbox()
            await asyncio.wait((waiter, self._task), return_when=asyncio.FIRST_COMPLETED)

    async def aclose(self) -> None:
        """Stop the run (if still going) and wait for it to wind down."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def __aenter__(self) -> BulkRun:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Run:
    """The state of one run: queues, counters, journal, limiter."""

    def __init__(
        self, sender: BulkSender, recipients: Iterable[Any] | AsyncIterable[Any], total: int | None
    ) -> None:
        self.sender = sender
        self.recipients = recipients
        if total is None and isinstance(recipients, Sized):
            total = len(recipients)
        self.total = total
        self.client = sender.client
        self.api = sender.api
        self.ops = sender.client.v1 if self.api == "v1" else sender.client.v2
        self.journal: J.Journal | None = None
        #: The journal holds an earlier run's recipients: look each one up.
        self.resuming = False
        self.limiter = RateLimiter(None)
        self.budget: float | None = None
        # Work queues: recipients ready to go (bulk entries and solo sends apart),
        # and retries waiting for their backoff to pass.
        self.ready_bulk: deque[_Item] = deque()
        self.ready_solo: deque[_Item] = deque()
        self.delayed: list[tuple[float, int, _Item]] = []
        self._sequence = 0
        self.high_water = max(1024, sender.concurrency * sender.batch_size * 2)
        self.intake_done = False
        self.ids: set[str] = set()
        self.intake_failure: BaseException | None = None
        self.in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.task_failure: BaseException | None = None
        self.stop_code: str | None = None
        self.stop_message: str | None = None
        self.stop_request_id: str | None = None
        self.stopped_count = 0
        self._solo_turn = False
        self._partial_since: float | None = None
        # Wake-ups: the dispatcher waits for "something changed", the intake for room.
        self._dirty = False
        self._waiter: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self._outbox_waiter: asyncio.Future[None] | None = None
        self.outbox: deque[RecipientResult] = deque()
        # Counters.
        self.counts = {SENT: 0, FAILED: 0, UNKNOWN: 0}
        self.previous = 0
        self.sent_now = 0
        self.requests = 0
        self.retries = 0
        self.throttled = 0
        self.codes: dict[str, int] = {}
        self.started = time.perf_counter()

    # -- the run ---------------------------------------------------------------------

    async def main(self) -> RunSummary:
        loop = asyncio.get_running_loop()
        self.started = time.perf_counter()
        intake: asyncio.Task[None] | None = None
        try:
            await self._prepare()
            intake = loop.create_task(self._intake())
            intake.add_done_callback(self._intake_finished)
            await self._dispatch()
            await intake
        finally:
            try:
                # A run that is stopped early (cancelled, or failing) leaves the recipients
                # of the requests it cancels in flight in the journal: unknown on resume.
                if intake is not None and not intake.done():
                    intake.cancel()
                for task in list(self.tasks):
                    task.cancel()
                if self.tasks:
                    await asyncio.gather(*self.tasks, return_exceptions=True)
                if intake is not None:
                    await asyncio.gather(intake, return_exceptions=True)
            finally:
                if self.journal is not None:
                    self.journal.close()
        return self.summary()

    def summary(self) -> RunSummary:
        elapsed = time.perf_counter() - self.started
        return RunSummary(
            sent=self.counts[SENT],
            failed=self.counts[FAILED],
            unknown=self.counts[UNKNOWN],
            previous=self.previous,
            requests=self.requests,
            retries=self.retries,
            throttled=self.throttled,
            elapsed=elapsed,
            rate=self.sent_now / elapsed if elapsed > 0 else 0.0,
            stopped=self.stop_code if self.stopped_count else None,
            codes=dict(self.codes),
        )

    async def _prepare(self) -> None:
        sender = self.sender
        if sender.journal is not None:
            journal = J.Journal(sender.journal, synchronous=sender.journal_synchronous)
            self.resuming = journal.open(sender.describe(), resume=sender.resume)
            self.journal = journal
        quota = await self._fetch_quota() if sender.check_quota or sender.rate is None else None
        rate = sender.rate
        account_rate = float(quota.get("MaxSendRate", -1) or -1) if quota is not None else -1.0
        floor = None
        if rate is None and account_rate > 0:
            rate = account_rate * SEEDED_RATE_HEADROOM
        elif rate is not None and account_rate > 0:
            # An override above the account's rate must still be able to come down to it.
            floor = min(rate, max(min(1.0, account_rate), account_rate * 0.1))
        batch = min(sender.batch_size, int(rate) if rate is not None else sender.batch_size)
        self.limiter = RateLimiter(rate, initial_tokens=max(1, batch), floor=floor)
        if sender.check_quota and quota is not None:
            maximum = float(quota.get("Max24HourSend", -1) or -1)
            if maximum > 0:
                self.budget = max(0.0, maximum - float(quota.get("SentLast24Hours", 0) or 0))
        if self.budget is not None and self.total is not None and not sender.allow_partial:
            needed = self.total - (self.journal.settled() if self.journal is not None else 0)
            if needed > self.budget:
                if self.journal is not None:
                    self.journal.close()
                    self.journal = None
                raise DailyQuotaExceeded(
                    f"{needed} recipients to send but only {self.budget:.0f} left of the 24-hour "
                    "quota; nothing was sent (pass allow_partial=True to send what fits)",
                    code="DailyQuotaExceeded",
                    api=self.api,
                )
        logger.info(
            "bulk run: api=%s rate=%s budget=%s concurrency=%d",
            self.api,
            f"{rate:g}/s" if rate is not None else "unlimited",
            f"{self.budget:.0f}" if self.budget is not None else "unlimited",
            sender.concurrency,
        )

    async def _fetch_quota(self) -> Mapping[str, Any] | None:
        for attempt in range(3):
            try:
                if self.api == "v1":
                    return await self.client.v1.get_send_quota()
                response = await self.client.v2.get_account()
                return response.get("SendQuota")
            except SESError as exc:
                if not exc.retryable or attempt == 2:
                    logger.warning(
                        "bulk run: cannot read the send quota (%s); pacing by throttling "
                        "replies only and not checking the daily quota",
                        exc,
                    )
                    return None
                await asyncio.sleep(0.2 * (attempt + 1))
        return None

    # -- intake ------------------------------------------------------------------------

    async def _intake(self) -> None:
        position = 0
        source = self.recipients
        if isinstance(source, AsyncIterable):
            async for value in source:
                await self._admit(value, position)
                position += 1
                if self._backlog() >= self.high_water:
                    await self._wait_room()
        else:
            for value in source:
                await self._admit(value, position)
                position += 1
                if self._backlog() >= self.high_water:
                    await self._wait_room()
                elif position % _INTAKE_SLICE == 0:
                    await asyncio.sleep(0)

    def _intake_finished(self, task: asyncio.Task[None]) -> None:
        self.intake_done = True
        if not task.cancelled() and task.exception() is not None:
            self.intake_failure = task.exception()
        self._poke()

    def _backlog(self) -> int:
        return len(self.ready_bulk) + len(self.ready_solo)

    async def _admit(self, value: Any, position: int) -> None:
        """Check one input value; queue it, or report it at once."""
        if isinstance(value, Malformed):
            key = f"{position}:{value.address}:malformed"
            await self._early(key, position, value.address, None, "InvalidInput", value.reason)
            return
        try:
            recipient = coerce_recipient(value)
            data = recipient.template_data
            data_json = _json_object(data, "template_data") if data else None
        except SESValidationError as exc:
            address = _address_of(value)
            await self._early(
                f"{position}:{address}:invalid", position, address, None, exc.code, exc.message
            )
            return
        key = _key(recipient, position, data_json)
        if recipient.id is not None:
            # Positional keys are unique by construction; explicit ids must be checked.
            if recipient.id in self.ids:
                await self._early(
                    f"{position}:{recipient.address}:duplicate-id",
                    position,
                    recipient.address,
                    recipient.id,
                    "DuplicateRecipient",
                    f"id {recipient.id!r} was given to an earlier recipient of this run",
                )
                return
            self.ids.add(recipient.id)
        attempts = 0
        journal = self.journal
        if journal is not None and self.resuming:
            entry = journal.lookup(key)
            if entry is not None:
                attempts = entry.attempts
                if await self._settled_before(recipient, key, position, entry):
                    return
        try:
            item = self._check(recipient, key, position, attempts, data_json)
        except SESValidationError as exc:
            await self._early(key, position, recipient.address, recipient.id, exc.code, exc.message)
            return
        if self.stop_code is not None:
            await self._not_sent(item)
            return
        (self.ready_bulk if item.send is None else self.ready_solo).append(item)
        self._poke()

    async def _settled_before(
        self, recipient: Recipient, key: str, position: int, entry: J.JournalEntry
    ) -> bool:
        """Report a recipient an earlier run settled; False when it is to be sent now."""
        state = entry.state
        if state in (J.PENDING, J.NOT_SENT):
            return False
        if state in (J.IN_FLIGHT, J.UNKNOWN) and self.sender.resend_unknown:
            return False
        code: str | None
        message: str | None
        if state == J.IN_FLIGHT:
            code = "SendOutcomeUnknown"
            message = (
                "an earlier run stopped while this recipient's request was in flight; SES may "
                "or may not have accepted it"
            )
            assert self.journal is not None
            self.journal.record(
                key,
                position,
                recipient.address,
                J.UNKNOWN,
                attempts=entry.attempts,
                code=code,
                message=message,
            )
            status = UNKNOWN
        else:
            code, message = entry.code, entry.message
            status = {J.SENT: SENT, J.FAILED: FAILED}.get(state, UNKNOWN)
        self.previous += 1
        await self._emit(
            RecipientResult(
                key,
                recipient.address,
                status,  # type: ignore[arg-type]
                entry.message_id,
                code,
                message,
                entry.retryable,
                entry.attempts,
                recipient.id,
                position,
                previous=True,
            )
        )
        return True

    def _check(
        self, recipient: Recipient, key: str, position: int, attempts: int, data_json: str | None
    ) -> _Item:
        """Validate a recipient into an :class:`_Item`; SESValidationError says what is wrong."""
        sender = self.sender
        if recipient.has_content or sender.template is None:
            if recipient.has_content:
                if recipient.template_data:
                    raise SESValidationError(
                        "template_data: a recipient with a message of its own (text or html) "
                        "takes no template data",
                        field="template_data",
                    )
                subject, text, html = recipient.subject, recipient.text, recipient.html
            elif sender.text is not None or sender.html is not None:
                subject, text, html = sender.subject, sender.text, sender.html
                if recipient.template_data:
                    raise SESValidationError(
                        "template_data: given for a run without a template", field="template_data"
                    )
            else:
                raise SESValidationError(
                    "text: no content: the run has no template or body, and neither has the "
                    "recipient",
                    field="text",
                )
            operation, kwargs = build_send(
                self.api,
                from_addr=sender.from_addr,
                to=[recipient.address],
                reply_to=sender.reply_to,
                subject=subject,
                text=text,
                html=html,
                configuration_set=sender.configuration_set,
                tags=sender.tags,
            )
            if "Destination" in kwargs:
                sent_address = kwargs["Destination"]["ToAddresses"][0]
            else:
                sent_address = kwargs["Destinations"][0]
            return _Item(
                key,
                position,
                recipient.address,
                recipient.id,
                sent_address,
                None,
                (operation, kwargs),
                attempts,
            )
        sent_address = normalize_address(recipient.address.strip(), "address")
        return _Item(
            key, position, recipient.address, recipient.id, sent_address, data_json, None, attempts
        )

    async def _early(
        self,
        key: str,
        position: int,
        address: str,
        id: str | None,
        code: str | None,
        message: str,
    ) -> None:
        """Report a recipient that failed its checks (it was never sent)."""
        if self.journal is not None:
            self.journal.record(key, position, address, J.FAILED, code=code, message=message)
        await self._emit(
            RecipientResult(key, address, FAILED, None, code, message, False, 0, id, position)
        )

    # -- dispatch ----------------------------------------------------------------------

    async def _dispatch(self) -> None:
        limiter = self.limiter
        concurrency = self.sender.concurrency
        while True:
            self._dirty = False
            self._raise_failures()
            if self.stop_code is not None:
                break
            if self.in_flight >= concurrency:
                await self._wait()
                continue
            unit, timeout = self._take_unit()
            if unit is None:
                if self.budget is not None and self.budget < 1 and not self.in_flight:
                    # The quota is spent: stop if anything is left to send.
                    if not self._idle():
                        self._stop(
                            "DailyQuotaExceeded",
                            "the 24-hour sending quota was used up during the run",
                        )
                        break
                    if self.intake_done:
                        break
                    await self._wait()
                    continue
                if timeout is None and self.intake_done and not self.in_flight and self._idle():
                    break
                await self._wait(timeout)
                continue
            wait = limiter.reserve(len(unit))
            if wait > 0:
                await asyncio.sleep(wait)
                if self.stop_code is not None:
                    limiter.refund(len(unit))
                    self._requeue_front(unit)
                    break
            self._launch(unit)
        # Let the requests in flight finish; they may settle, retry or stop.
        while self.tasks:
            await asyncio.wait(set(self.tasks))
        self._raise_failures()
        if self.stop_code is not None:
            self._wake_room()
            for item in self._drain():
                await self._not_sent(item)

    def _raise_failures(self) -> None:
        if self.task_failure is not None:
            raise self.task_failure
        if self.intake_failure is not None:
            raise self.intake_failure

    def _idle(self) -> bool:
        return not self.ready_bulk and not self.ready_solo and not self.delayed

    def _take_unit(self) -> tuple[list[_Item] | None, float | None]:
        """The next request's recipients, or ``(None, seconds to wait or None)``."""
        now = time.monotonic()
        delayed = self.delayed
        while delayed and delayed[0][0] <= now:
            item = heapq.heappop(delayed)[2]
            (self.ready_bulk if item.send is None else self.ready_solo).appendleft(item)
        timeout = delayed[0][0] - now if delayed else None
        budget = self.budget
        if budget is not None and budget < 1:
            return None, timeout
        solo, bulk = self.ready_solo, self.ready_bulk
        if solo and (not bulk or self._solo_turn):
            self._solo_turn = False
            self._took()
            return [solo.popleft()], None
        if bulk:
            self._solo_turn = True
            size = self.limiter.max_batch(self.sender.batch_size)
            if budget is not None:
                size = min(size, int(budget))
            if len(bulk) < size and not self.intake_done:
                # A partial batch waits a moment for more from the source.
                if self._partial_since is None:
                    self._partial_since = now
                waited = now - self._partial_since
                if waited < _LINGER:
                    remaining = _LINGER - waited
                    return None, remaining if timeout is None else min(timeout, remaining)
            self._partial_since = None
            unit = [bulk.popleft() for _ in range(min(size, len(bulk)))]
            self._took()
            return unit, None
        return None, timeout

    def _took(self) -> None:
        if self._room is not None and self._backlog() < self.high_water:
            self._wake_room()

    def _launch(self, unit: list[_Item]) -> None:
        sent_at = self.limiter.now()
        for item in unit:
            if item.attempts:
                self.retries += 1
            item.attempts += 1
        if self.budget is not None:
            self.budget -= len(unit)
        if self.journal is not None:
            self.journal.mark_in_flight(
                (item.key, item.position, item.address, item.attempts) for item in unit
            )
        self.in_flight += 1
        self.requests += 1
        task = asyncio.get_running_loop().create_task(self._send(unit, sent_at))
        self.tasks.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.in_flight -= 1
        if not task.cancelled() and task.exception() is not None and self.task_failure is None:
            self.task_failure = task.exception()
        self._poke()

    def _drain(self) -> list[_Item]:
        items = [entry[2] for entry in sorted(self.delayed)]
        items[:0] = list(self.ready_solo) + list(self.ready_bulk)
        self.delayed.clear()
        self.ready_solo.clear()
        self.ready_bulk.clear()
        items.sort(key=lambda item: item.position)
        return items

    def _requeue_front(self, unit: list[_Item]) -> None:
        for item in reversed(unit):
            (self.ready_bulk if item.send is None else self.ready_solo).appendleft(item)

    # -- sending -----------------------------------------------------------------------

    async def _send(self, unit: list[_Item], sent_at: float) -> None:
        first = unit[0]
        try:
            if first.send is not None:
                operation, kwargs = first.send
                response = await getattr(self.ops, operation)(**kwargs)
            else:
                response = await self._send_bulk(unit)
        except SESError as exc:
            await self._failed_request(unit, exc, sent_at)
            return
        request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
        if first.send is not None:
            self.limiter.answered(1)
            await self._settle(
                first, SENT, message_id=response.get("MessageId"), request_id=request_id
            )
            return
        entries = response.get("BulkEmailEntryResults" if self.api == "v2" else "Status") or []
        await self._settle_entries(unit, entries, sent_at, request_id)

    def _send_bulk(self, unit: list[_Item]) -> Awaitable[Mapping[str, Any]]:
        sender = self.sender
        if self.api == "v2":
            entries = []
            for item in unit:
                entry: dict[str, Any] = {"Destination": {"ToAddresses": [item.sent_address]}}
                if item.data_json is not None:
                    entry["ReplacementEmailContent"] = {
                        "ReplacementTemplate": {"ReplacementTemplateData": item.data_json}
                    }
                entries.append(entry)
            params: dict[str, Any] = {
                "FromEmailAddress": sender.from_addr,
                "DefaultContent": {
                    "Template": {
                        "TemplateName": sender.template,
                        "TemplateData": sender.default_template_data or "{}",
                    }
                },
                "BulkEmailEntries": entries,
            }
            if sender.reply_to:
                params["ReplyToAddresses"] = sender.reply_to
            if sender.configuration_set:
                params["ConfigurationSetName"] = sender.configuration_set
            if sender.tags:
                params["DefaultEmailTags"] = _tags(sender.tags)
            return self.client.v2.send_bulk_email(**params)
        destinations = []
        for item in unit:
            destination: dict[str, Any] = {"Destination": {"ToAddresses": [item.sent_address]}}
            if item.data_json is not None:
                destination["ReplacementTemplateData"] = item.data_json
            destinations.append(destination)
        params = {
            "Source": sender.from_addr,
            "Template": sender.template,
            "DefaultTemplateData": sender.default_template_data or "{}",
            "Destinations": destinations,
        }
        if sender.reply_to:
            params["ReplyToAddresses"] = sender.reply_to
        if sender.configuration_set:
            params["ConfigurationSetName"] = sender.configuration_set
        if sender.tags:
            params["DefaultTags"] = _tags(sender.tags)
        return self.client.v1.send_bulk_templated_email(**params)

    async def _failed_request(self, unit: list[_Item], exc: SESError, sent_at: float) -> None:
        """Deal with a request that failed as a whole."""
        throttled = isinstance(exc, Throttling) and not isinstance(exc, DailyQuotaExceeded)
        self.limiter.answered(len(unit), len(unit) if throttled else 0)
        request_id = exc.request_id
        if isinstance(exc, SendOutcomeUnknown):
            for item in unit:
                await self._settle(
                    item, UNKNOWN, code=exc.code, message=exc.message, request_id=request_id
                )
        elif isinstance(exc, DailyQuotaExceeded):
            self._refund(len(unit))
            # One name whatever the API calls it (Throttling, LimitExceededException).
            self._stop("DailyQuotaExceeded", exc.message, request_id)
            self._requeue_front(unit)
        elif isinstance(exc, Throttling):
            self.limiter.throttled(sent_at)
            self.throttled += len(unit)
            self._refund(len(unit))
            for item in unit:
                await self._retry(item, exc.code, exc.message, request_id, throttled=True)
        elif isinstance(exc, _ACCOUNT_ERRORS):
            self._refund(len(unit))
            self._stop(exc.code, exc.message, request_id)
            self._requeue_front(unit)
        elif exc.retryable:
            self._refund(len(unit))
            for item in unit:
                await self._retry(item, exc.code, exc.message, request_id)
        else:
            for item in unit:
                await self._settle(
                    item, FAILED, code=exc.code, message=exc.message, request_id=request_id
                )

    async def _settle_entries(
        self,
        unit: list[_Item],
        entries: list[dict[str, Any]],
        sent_at: float,
        request_id: str | None,
    ) -> None:
        kinds = []
        for entry in entries[: len(unit)]:
            kind = _ENTRY_KINDS.get(str(entry.get("Status", "")), _ENTRY_FAILED)
            error = entry.get("Error")
            if kind == _ENTRY_FAILED and error and _speaks_of_throttling(str(error)):
                kind = _ENTRY_THROTTLED
            kinds.append(kind)
        throttled = kinds.count(_ENTRY_THROTTLED)
        self.limiter.answered(len(unit), throttled)
        if throttled:
            # Before the retries are queued, so that they are paced at the lowered rate.
            self.limiter.throttled(sent_at)
        for index, item in enumerate(unit):
            if index >= len(kinds):
                await self._settle(
                    item,
                    UNKNOWN,
                    code="MissingEntryResult",
                    message="SES's reply has no status for this recipient",
                    request_id=request_id,
                )
                continue
            entry = entries[index]
            status = str(entry.get("Status", ""))
            error = entry.get("Error") or None
            kind = kinds[index]
            if kind == _ENTRY_SENT:
                await self._settle(
                    item, SENT, message_id=entry.get("MessageId"), request_id=request_id
                )
            elif kind == _ENTRY_THROTTLED:
                self.throttled += 1
                self._refund(1)
                await self._retry(item, status, error, request_id, throttled=True)
            elif kind == _ENTRY_TRANSIENT:
                self._refund(1)
                await self._retry(item, status, error, request_id)
            elif kind in (_ENTRY_QUOTA, _ENTRY_ACCOUNT):
                self._refund(1)
                self._stop(
                    "DailyQuotaExceeded" if kind == _ENTRY_QUOTA else status,
                    error or status,
                    request_id,
                )
                self._requeue_front([item])
            else:
                await self._settle(
                    item, FAILED, code=status or "Failed", message=error, request_id=request_id
                )

    async def _retry(
        self,
        item: _Item,
        code: str | None,
        message: str | None,
        request_id: str | None = None,
        *,
        throttled: bool = False,
    ) -> None:
        if item.attempts >= self.sender.max_attempts:
            await self._settle(
                item,
                FAILED,
                code=code,
                message=f"gave up after {item.attempts} attempts: {message or code}",
                retryable=True,
                request_id=request_id,
            )
            return
        if self.journal is not None:
            # It was not sent: a crash from here on must not report it as in flight.
            self.journal.record(
                item.key, item.position, item.address, J.PENDING, attempts=item.attempts
            )
        if throttled and self.limiter.rate is not None:
            # The limiter paces it; no backoff of its own.
            (self.ready_bulk if item.send is None else self.ready_solo).appendleft(item)
        else:
            sender = self.sender
            ceiling = min(sender.max_retry_delay, sender.retry_delay * 2 ** (item.attempts - 1))
            self._sequence += 1
            heapq.heappush(
                self.delayed, (time.monotonic() + random.random() * ceiling, self._sequence, item)
            )
        self._poke()

    def _refund(self, recipients: int) -> None:
        if self.budget is not None:
            self.budget += recipients

    def _stop(self, code: str | None, message: str | None, request_id: str | None = None) -> None:
        if self.stop_code is None:
            self.stop_code = code or "Stopped"
            self.stop_message = message
            self.stop_request_id = request_id
            logger.warning("bulk run stopping: %s: %s", self.stop_code, message)
            self._wake_room()
            self._poke()

    async def _not_sent(self, item: _Item) -> None:
        self.stopped_count += 1
        code = self.stop_code
        message = f"not sent: the run stopped early ({self.stop_message or code})"
        if self.journal is not None:
            self.journal.record(
                item.key,
                item.position,
                item.address,
                J.NOT_SENT,
                attempts=item.attempts,
                code=code,
                message=message,
            )
        await self._emit(
            RecipientResult(
                item.key,
                item.address,
                FAILED,
                None,
                code,
                message,
                True,
                item.attempts,
                item.id,
                item.position,
                request_id=self.stop_request_id,
            )
        )

    async def _settle(
        self,
        item: _Item,
        status: str,
        *,
        message_id: str | None = None,
        code: str | None = None,
        message: str | None = None,
        retryable: bool = False,
        request_id: str | None = None,
    ) -> None:
        if self.journal is not None:
            self.journal.record(
                item.key,
                item.position,
                item.address,
                status,
                attempts=item.attempts,
                message_id=message_id,
                code=code,
                message=message,
                retryable=retryable,
            )
        if status == SENT:
            self.sent_now += 1
        await self._emit(
            RecipientResult(
                item.key,
                item.address,
                status,  # type: ignore[arg-type]
                message_id,
                code,
                message,
                retryable,
                item.attempts,
                item.id,
                item.position,
                request_id=request_id,
            )
        )

    # -- results -----------------------------------------------------------------------

    async def _emit(self, result: RecipientResult) -> None:
        self.counts[result.status] += 1
        if result.status != SENT and result.code:
            self.codes[result.code] = self.codes.get(result.code, 0) + 1
        callback = self.sender.on_result
        if callback is not None:
            outcome = callback(result)
            if outcome is not None and hasattr(outcome, "__await__"):
                await outcome
        self.outbox.append(result)
        waiter = self._outbox_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wait_outbox(self) -> asyncio.Future[None]:
        waiter = self._outbox_waiter
        if waiter is None or waiter.done():
            waiter = self._outbox_waiter = asyncio.get_running_loop().create_future()
        return waiter

    # -- wake-ups ------------------------------------------------------------------------

    def _poke(self) -> None:
        self._dirty = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, timeout: float | None = None) -> None:
        if self._dirty:
            return
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        handle = loop.call_later(timeout, _resolve, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    async def _wait_room(self) -> None:
        if self.stop_code is not None:
            return
        room = self._room = asyncio.get_running_loop().create_future()
        try:
            await room
        finally:
            self._room = None

    def _wake_room(self) -> None:
        if self._room is not None and not self._room.done():
            self._room.set_result(None)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _speaks_of_throttling(error: str) -> bool:
    lowered = error.lower()
    return any(word in lowered for word in _THROTTLE_WORDS)


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in tags.items()]


# One encoder for every recipient: json.dumps with options builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_object(data: Mapping[str, Any] | None, field: str) -> str | None:
    if data is None:
        return None
    if type(data) is not dict:
        if not isinstance(data, Mapping):
            raise SESValidationError(
                f"{field}: expected a dict, got {type(data).__name__}", field=field
            )
        data = dict(data)
    try:
        text = _ENCODE(data)
    except (TypeError, ValueError) as exc:
        raise SESValidationError(
            f"{field}: cannot be encoded as JSON: {exc}", field=field
        ) from None
    if len(text) > MAX_TEMPLATE_DATA_LENGTH:
        raise SESValidationError(
            f"{field}: {len(text)} characters of JSON; SES accepts at most "
            f"{MAX_TEMPLATE_DATA_LENGTH}",
            field=field,
        )
    return text


def _key(recipient: Recipient, position: int, data_json: str | None) -> str:
    """The recipient's identity in the journal: its id, else position, address and content."""
    if recipient.id is not None:
        return f"id:{recipient.id}"
    address = recipient.address.strip()
    if recipient.subject is None and recipient.text is None and recipient.html is None:
        if data_json is None:
            return f"{position}:{address}"
        material = data_json
    else:
        material = _ENCODE([data_json, recipient.subject, recipient.text, recipient.html])
    return f"{position}:{address}:{hashlib.sha256(material.encode()).hexdigest()[:16]}"


def _address_of(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Recipient):
        return str(value.address)
    if isinstance(value, Mapping):
        found = value.get("address", value.get("email"))
        return found if isinstance(found, str) else ""
    return ""
