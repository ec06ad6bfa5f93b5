"""The account's sending limits as SES enforces them, plus the send statistics.

SES counts recipients, not messages, against both limits: the maximum send
rate (here a token bucket whose burst equals one second's worth) and the
24-hour quota (a sliding window kept in one-second buckets).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

__all__ = ["SendLimiter"]

_DAY = 86400.0
_POINT = 900  # GetSendStatistics reports 15-minute data points
_STATISTICS_KEPT = 14 * 86400  # SES reports the last two weeks


class SendLimiter:
    """Rate, quota and statistics of one endpoint process."""

    def __init__(
        self,
        *,
        max_send_rate: float | None,
        max_24h_send: float | None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_send_rate = max_send_rate
        self.max_24h_send = max_24h_send
        self._clock = clock
        self._wall_clock = wall_clock
        self._tokens = float(max_send_rate) if max_send_rate else 0.0
        self._refilled = clock()
        self._window: deque[list[float]] = deque()  # [second, recipients]
        self._window_sum = 0.0
        self._points: dict[int, list[int]] = {}  # bucket start -> [attempts, rejects]

    # -- limits ---------------------------------------------------------------

    def check(self, recipients: int) -> str | None:
        """Take ``recipients`` from both limits, or say which one refuses.

        Returns None when the send may go ahead (and has been counted),
        ``"DailyQuota"`` or ``"Throttled"`` when it may not (nothing counted).
        A message with more recipients than the bucket holds passes when the
        bucket is full and leaves it in debt, so a rate below 50 never makes
        a 50-recipient message impossible.
        """
        now = self._clock()
        if self.max_24h_send is not None:
            self._expire(now)
            if self._window_sum + recipients > self.max_24h_send:
                return "DailyQuota"
        rate = self.max_send_rate
        if rate is not None:
            tokens = min(rate, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if tokens < min(recipients, rate):
                self._tokens = tokens
                return "Throttled"
            self._tokens = tokens - recipients
        self._count(now, recipients)
        return None

    def _expire(self, now: float) -> None:
        window = self._window
        horizon = now - _DAY
        while window and window[0][0] <= horizon:
            self._window_sum -= window.popleft()[1]

    def _count(self, now: float, recipients: int) -> None:
        second = float(int(now))
        window = self._window
        if window and window[-1][0] == second:
            window[-1][1] += recipients
        else:
            window.append([second, float(recipients)])
        self._window_sum += recipients
        bucket = int(self._wall_clock()) // _POINT * _POINT
        point = self._points.get(bucket)
        if point is None:
            point = self._points[bucket] = [0, 0]
            self._prune_points(bucket)
        point[0] += recipients

    def count_reject(self) -> None:
        bucket = int(self._wall_clock()) // _POINT * _POINT
        point = self._points.get(bucket)
        if point is None:
            point = self._points[bucket] = [0, 0]
        point[1] += 1

    def _prune_points(self, newest: int) -> None:
        horizon = newest - _STATISTICS_KEPT
        for bucket in [b for b in self._points if b < horizon]:
            del self._points[bucket]

    # -- reports --------------------------------------------------------------

    def sent_last_24_hours(self) -> float:
        self._expire(self._clock())
        return float(self._window_sum)

    def quota(self) -> dict[str, float]:
        """GetSendQuota's members (shared with GetAccount's SendQuota); -1 means unlimited."""
        return {
            "Max24HourSend": float(self.max_24h_send) if self.max_24h_send is not None else -1.0,
            "MaxSendRate": float(self.max_send_rate) if self.max_send_rate is not None else -1.0,
            "SentLast24Hours": self.sent_last_24_hours(),
        }

    def data_points(self) -> list[dict[str, Any]]:
        """GetSendStatistics' SendDataPoints, oldest first."""
        return [
            {
                "Timestamp": datetime.fromtimestamp(bucket, timezone.utc),
                "DeliveryAttempts": attempts,
                "Bounces": 0,
                "Complaints": 0,
                "Rejects": rejects,
            }
            for bucket, (attempts, rejects) in sorted(self._points.items())
        ]
