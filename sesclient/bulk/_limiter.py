"""The send-rate limiter of a bulk run: a token bucket over recipients that adapts to throttling.

SES limits an account to so many *recipients* per second, whatever the number
of requests, so the bucket counts recipients.  It holds about one second's
worth, so sending stays smooth instead of bursting and then stalling.

Throttling replies make the limiter back off: the rate is multiplied by a
factor, at most once per congestion event.  When the caller reports every
answer (:meth:`answered`), the factor follows the share of recipients that
were throttled since the last decrease: one minus that share, between 0.5 and
0.9.  A rate far above the limit (most recipients throttled) is halved; a few
throttles among many sends, which is what throttling that has little to do
with the rate looks like, cut it by a tenth.  Without those reports the
factor is ``decrease`` (0.7).  A throttled reply to a
request sent before the last decrease, or one that comes within ``cooldown``
seconds of it, belongs to the event already answered; without that rule the
replies to one burst would divide the rate by 0.7 each.  The rate climbs back
all the time by ``recovery`` of the reference rate per second, up to the
ceiling.

The reference is the ceiling (the seeded rate) or, with no ceiling known (an
account with no rate limit, or none readable), the pace the limiter saw
going out when the first throttle came; until then it lets everything
through.  The rate never drops below ``floor`` (a tenth of the reference by
default): throttling that persists at a tenth of a rate that used to pass is
not the rate's doing, and slowing further would only stall the run.

The class is sans-IO: :meth:`reserve` says how long to wait, the caller sleeps.
The clock is injectable for tests.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token bucket over recipients with multiplicative decrease and additive recovery."""

    def __init__(
        self,
        rate: float | None,
        *,
        burst_seconds: float = 1.0,
        initial_tokens: float | None = None,
        decrease: float = 0.7,
        recovery: float = 0.05,
        cooldown: float = 1.0,
        floor: float | None = None,
        floor_fraction: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate is not None and not rate > 0:
            raise ValueError(f"rate must be positive (or None for no limit), got {rate!r}")
        if not 0 < decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1, got {decrease!r}")
        if burst_seconds <= 0:
            raise ValueError(f"burst_seconds must be positive, got {burst_seconds!r}")
        #: The rate the limiter never exceeds: the seeded one, or None (none known).
        self.ceiling = rate
        #: The rate it paces at now, in recipients per second; None while unlimited.
        self.rate = rate
        self.burst_seconds = burst_seconds
        self.decrease = decrease
        self.recovery = recovery
        self.cooldown = cooldown
        self.floor_fraction = floor_fraction
        self._floor = floor
        self._reference = rate
        self._clock = clock
        self._updated = clock()
        self._tokens = self.burst if initial_tokens is None else min(initial_tokens, self.burst)
        self._decreased: float | None = None
        # (time, recipients) of the last second, to know the pace when there is no ceiling.
        self._recent: deque[tuple[float, int]] = deque()
        self._first_sent: float | None = None
        # Recipients answered, and of those throttled, since the last decrease.
        self._answered = 0
        self._throttled = 0
        #: How many times the rate was lowered.
        self.decreases = 0

    @property
    def burst(self) -> float:
        """The bucket's capacity, in recipients."""
        if self.rate is None:
            return math.inf
        return max(1.0, self.rate * self.burst_seconds)

    @property
    def tokens(self) -> float:
        return self._tokens

    @property
    def floor(self) -> float:
        """The lowest rate throttling can bring the limiter to."""
        if self._floor is not None:
            return self._floor
        reference = self._reference or 1.0
        return max(min(1.0, reference), reference * self.floor_fraction)

    def now(self) -> float:
        """The limiter's clock, for stamping requests passed to :meth:`throttled`."""
        return self._clock()

    def max_batch(self, wanted: int) -> int:
        """The largest number of recipients to put in one request.

        No more than the bucket holds at the ceiling: a 50-recipient request
        against a 14-per-second account would be throttled in part.
        """
        limit = self.ceiling if self.ceiling is not None else self.rate
        if limit is None:
            return wanted
        return max(1, min(wanted, int(limit * self.burst_seconds)))

    def reserve(self, recipients: int) -> float:
        """Take ``recipients`` tokens; the seconds to wait before they may be sent.

        The bucket may go into debt: the wait is how long it takes to pay it
        back, and the next reservation waits for that debt as well.
        """
        now = self._clock()
        self._advance(now)
        if self.rate is None:
            self._note(now, recipients)
            return 0.0
        self._tokens -= recipients
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate

    def refund(self, recipients: int) -> None:
        """Give back tokens reserved for recipients that were not sent after all."""
        if self.rate is not None:
            self._tokens = min(self.burst, self._tokens + recipients)

    def answered(self, recipients: int, throttled: int = 0) -> None:
        """Report an answer for ``recipients``, ``throttled`` of them throttled."""
        self._answered += recipients
        self._throttled += throttled

    def throttled(self, sent_at: float | None = None) -> bool:
        """Report a throttled reply to a request sent at ``sent_at`` (the limiter's clock).

        Lowers the rate unless the event was already answered (see the module
        docstring).  Returns whether the rate changed.
        """
        now = self._clock()
        self._advance(now)
        if sent_at is None:
            sent_at = now
        last = self._decreased
        if last is not None and (sent_at < last or now - last < self.cooldown):
            return False
        if self.rate is None:
            self._expire(now)
            seen = sum(count for _, count in self._recent)
            start = self._first_sent if self._first_sent is not None else now
            span = min(1.0, max(now - start, 0.05))
            self._reference = max(seen / span, 1.0)
            self._recent.clear()
            current = self._reference
        else:
            current = self.rate
        factor = self.decrease
        if self._answered:
            share = self._throttled / self._answered
            factor = min(0.9, max(0.5, 1.0 - share))
        self._answered = self._throttled = 0
        self.rate = max(self.floor, current * factor)
        # The server's bucket is empty now; start ours empty too.
        self._tokens = min(self._tokens, 0.0)
        self._decreased = now
        self.decreases += 1
        return True

    def _advance(self, now: float) -> None:
        elapsed = now - self._updated
        if elapsed <= 0:
            return
        self._updated = now
        rate = self.rate
        if rate is None:
            return
        self._tokens = min(self.burst, self._tokens + elapsed * rate)
        ceiling = self.ceiling
        if self._decreased is None or (ceiling is not None and rate >= ceiling):
            return
        rate += self.recovery * (self._reference or rate) * elapsed
        self.rate = min(rate, ceiling) if ceiling is not None else rate

    def _note(self, now: float, recipients: int) -> None:
        if self._first_sent is None:
            self._first_sent = now
        self._recent.append((now, recipients))
        if len(self._recent) > 64:
            self._expire(now)

    def _expire(self, now: float) -> None:
        recent = self._recent
        while recent and recent[0][0] < now - 1.0:
            recent.popleft()
