"""Per-person flood control: a sliding window of recent messages, kept in memory only.

The window is keyed by the person's pseudonym, never their Telegram id. It
answers one question per update, ``allow(who)``, and tells the caller when
to warn (once per burst, so that the bot does not flood back).
Contributions per day are counted from the database instead (see
``CorpusStore.contributions_since``): they must survive restarts.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Verdict:
    """Whether an update may be processed and, if not, whether to say so now."""

    allowed: bool
    warn: bool = False


@dataclass
class _Window:
    times: deque[float] = field(default_factory=deque)
    warned: bool = False


class FloodGuard:
    """At most ``limit`` updates per person in any ``period`` seconds."""

    def __init__(self, limit: int, period: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self._windows: dict[str, _Window] = {}
        self._last_sweep = clock()

    def allow(self, who: str) -> Verdict:
        """Count one update from ``who``; refuse it when the window is full."""
        now = self.clock()
        self._sweep(now)
        window = self._windows.setdefault(who, _Window())
        self._expire(window, now)
        if len(window.times) >= self.limit:
            warn = not window.warned
            window.warned = True
            return Verdict(allowed=False, warn=warn)
        window.times.append(now)
        window.warned = False
        return Verdict(allowed=True)

    def _expire(self, window: _Window, now: float) -> None:
        while window.times and window.times[0] <= now - self.period:
            window.times.popleft()

    def _sweep(self, now: float) -> None:
        """Forget people whose window is empty, at most once a period, so memory stays bounded."""
        if now - self._last_sweep < self.period:
            return
        self._last_sweep = now
        for who in list(self._windows):
            window = self._windows[who]
            self._expire(window, now)
            if not window.times:
                del self._windows[who]

    def __len__(self) -> int:
        return len(self._windows)
