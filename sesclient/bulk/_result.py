"""What a bulk run reports: one :class:`RecipientResult` per recipient, one :class:`RunSummary`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FAILED", "SENT", "UNKNOWN", "RecipientResult", "RunSummary", "Status"]

Status = Literal["sent", "failed", "unknown"]

#: SES accepted the message for this recipient; ``message_id`` says which.
SENT: Status = "sent"
#: The message was not sent; ``code`` and ``message`` say why, ``retryable`` whether a
#: later run may succeed.
FAILED: Status = "failed"
#: The request went out but no answer came back: SES may or may not have accepted it.
UNKNOWN: Status = "unknown"


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """The outcome for one recipient of a bulk run.

    ``key`` identifies the recipient in the journal (its ``id``, or its address,
    data and position in the input).  ``previous`` is true when the outcome was
    settled by an earlier run and read back from the journal on resume.

    ``request_id`` is SES's id of the reply that settled the recipient: the
    bulk call's for a recipient sent in one (shared by its recipients), the
    request's for a recipient refused by its request, the reply that stopped
    the run for a recipient not sent because of the stop.  It is None when no
    reply settled it (refused before sending, no answer, the quota counted out
    by the run, or read back from the journal, which does not keep it).
    """

    key: str
    address: str
    status: Status
    message_id: str | None = None
    code: str | None = None
    message: str | None = None
    retryable: bool = False
    attempts: int = 0
    id: str | None = None
    position: int | None = None
    previous: bool = False
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == SENT

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, without the fields that are empty."""
        result: dict[str, Any] = {"address": self.address, "status": self.status}
        for name in ("id", "message_id", "request_id", "code", "message"):
            value = getattr(self, name)
            if value is not None:
                result[name] = value
        if self.status != SENT:
            result["retryable"] = self.retryable
        result["attempts"] = self.attempts
        if self.previous:
            result["previous"] = True
        result["key"] = self.key
        return result


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Totals of a finished (or stopped) bulk run.

    Every recipient of the input is counted exactly once in ``sent``, ``failed``
    or ``unknown``; ``previous`` says how many of them were settled by an earlier
    run (resume).  ``stopped`` names what ended the run early (``DailyQuotaExceeded``,
    or the error code of an account-wide failure such as ``AccountSendingPaused``);
    the recipients it left behind are counted in ``failed`` with that code.
    ``rate`` is the recipients this run sent per second of ``elapsed``.
    """

    sent: int
    failed: int
    unknown: int
    previous: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    elapsed: float = 0.0
    rate: float = 0.0
    stopped: str | None = None
    codes: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.unknown

    @property
    def ok(self) -> bool:
        """True when every recipient was sent."""
        return self.failed == 0 and self.unknown == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "sent": self.sent,
            "failed": self.failed,
            "unknown": self.unknown,
            "previous": self.previous,
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "elapsed": round(self.elapsed, 3),
            "rate": round(self.rate, 2),
            "stopped": self.stopped,
            "codes": dict(sorted(self.codes.items())),
        }

    def __str__(self) -> str:
        text = (
            f"{self.total} recipients: {self.sent} sent, {self.failed} failed, "
            f"{self.unknown} unknown in {self.elapsed:.1f}s ({self.rate:.1f}/s)"
        )
        if self.previous:
            text += f"; {self.previous} settled by an earlier run"
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text
