"""A one-line progress display for bulk runs on a terminal (stdlib only).

The line is redrawn in place with ``\\r`` at most ``interval`` times a second:
counts by state, done of total, the rate of this run and the time left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from ._result import SENT, UNKNOWN, RecipientResult

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``1:02:03`` or ``2:03``."""
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Counts results and redraws a status line on ``stream``."""

    def __init__(
        self,
        stream: TextIO,
        *,
        total: int | None = None,
        interval: float = 0.1,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = total
        self.interval = interval
        self._clock = clock
        self._started = clock()
        self._drawn = 0.0
        self._last_length = 0
        if width is None:
            import shutil

            width = shutil.get_terminal_size((100, 20)).columns
        self.width = max(20, width - 1)
        self.sent = 0
        self.failed = 0
        self.unknown = 0
        self.previous = 0

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.unknown

    def update(self, result: RecipientResult) -> None:
        if result.status == SENT:
            self.sent += 1
        elif result.status == UNKNOWN:
            self.unknown += 1
        else:
            self.failed += 1
        if result.previous:
            self.previous += 1
        now = self._clock()
        if now - self._drawn >= self.interval:
            self._drawn = now
            self.draw(now)

    def line(self, now: float | None = None) -> str:
        """The status line as it would be drawn now."""
        if now is None:
            now = self._clock()
        elapsed = max(now - self._started, 1e-9)
        done = self.done
        rate = (done - self.previous) / elapsed
        parts = []
        if self.total:
            parts.append(f"{done}/{self.total} {100.0 * done / self.total:5.1f}%")
        else:
            parts.append(f"{done}")
        parts.append(f"sent {self.sent} failed {self.failed} unknown {self.unknown}")
        parts.append(f"{rate:.1f}/s")
        if self.total and rate > 0 and done < self.total:
            parts.append(f"ETA {format_duration((self.total - done) / rate)}")
        else:
            parts.append(format_duration(elapsed))
        return " | ".join(parts)[: self.width]

    def draw(self, now: float | None = None) -> None:
        text = self.line(now)
        padding = " " * max(0, self._last_length - len(text))
        self._last_length = len(text)
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()

    def finish(self) -> None:
        """Draw the final state and end the line."""
        self.draw()
        self.stream.write("\n")
        self.stream.flush()
