"""The retry policy: the AWS SDKs' "standard" mode, tightened for sending mail.

Standard mode retries throttling, 5xx replies and connection failures with
exponential backoff and full jitter, and spends retries from a shared quota so
that an outage does not turn into a retry storm.  Two things differ:

* "Daily message quota exceeded" is never retried.  SES reports it with the
  same ``Throttling`` code as the send rate, and boto3 retries it in vain.
* A send whose request was written but whose reply never came is not retried
  by default: SES may have accepted it, and a retry could deliver it twice.
  The caller gets :class:`~sesclient.SendOutcomeUnknown` instead.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

__all__ = ["RetryPolicy", "RetryQuota"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    ``max_attempts`` counts the first try: 3 means up to two retries.
    The delay before retry *n* is ``random() * min(max_delay, base_delay * 2**(n-1))``.
    """

    max_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 20.0
    #: Retry sends whose outcome is unknown (risking a duplicate) instead of raising.
    retry_unknown_outcome: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (retry_number - 1)))
        return random.random() * ceiling


class RetryQuota:
    """Standard mode's client-wide retry budget.

    Each retry spends 5 tokens (10 after a timeout or connection failure),
    each success refunds what its retries spent (or 1); with the bucket empty,
    errors are raised at once instead of retried.
    """

    RETRY_COST = 5
    TIMEOUT_COST = 10
    CAPACITY = 500

    def __init__(self) -> None:
        self._tokens = self.CAPACITY
        self._lock = threading.Lock()

    def acquire(self, *, timeout: bool) -> int:
        """Tokens taken for one retry, or 0 when the budget is spent."""
        cost = self.TIMEOUT_COST if timeout else self.RETRY_COST
        with self._lock:
            if self._tokens < cost:
                return 0
            self._tokens -= cost
            return cost

    def release(self, spent: int) -> None:
        """Refund after a success: what its retries took, or one token."""
        if self._tokens >= self.CAPACITY:
            return
        with self._lock:
            self._tokens = min(self.CAPACITY, self._tokens + (spent or 1))

    @property
    def available(self) -> int:
        return self._tokens
