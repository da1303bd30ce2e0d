"""Discord's rate limits, enforced by the emulator on demand: 5 messages per 5 s per channel and 50
requests per second globally, answered with 429 and Discord's headers like any injected fault."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable

from .driver import Emulator
from .server import Fault

_CHANNEL_MESSAGES = re.compile(r"/channels/(\d+)/messages")


class RateLimits(Fault):
    """A standing fault that matches only the requests over a limit (sliding windows on `clock`)."""

    def __init__(
        self,
        *,
        per_channel: int = 5,
        channel_window: float = 5.0,
        global_limit: int = 50,
        global_window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(method="*", path=re.compile(".*"), status=429, times=None)
        self.per_channel = per_channel
        self.channel_window = channel_window
        self.global_limit = global_limit
        self.global_window = global_window
        self.clock = clock
        self.global_hits: deque[float] = deque()
        self.channel_hits: dict[str, deque[float]] = {}
        self.limited = 0
        #: Of those, the requests refused by the global limit (a bot should never reach it).
        self.global_limited = 0

    @staticmethod
    def _prune(hits: deque[float], now: float, window: float) -> None:
        while hits and hits[0] <= now - window:
            hits.popleft()

    def matches(self, method: str, path: str) -> bool:
        now = self.clock()
        self._prune(self.global_hits, now, self.global_window)
        if len(self.global_hits) >= self.global_limit:
            return self._limit(self.global_hits[0] + self.global_window - now, is_global=True)
        channel = _CHANNEL_MESSAGES.fullmatch(path)
        if method == "POST" and channel is not None:
            hits = self.channel_hits.setdefault(channel.group(1), deque())
            self._prune(hits, now, self.channel_window)
            if len(hits) >= self.per_channel:
                return self._limit(hits[0] + self.channel_window - now, is_global=False)
            hits.append(now)
        self.global_hits.append(now)
        return False

    def _limit(self, retry_after: float, *, is_global: bool) -> bool:
        self.retry_after = max(retry_after, 0.001)
        self.is_global = is_global
        self.limited += 1
        self.global_limited += is_global
        return True


def enforce_rate_limits(emu: Emulator, **limits: float) -> RateLimits:
    """Start enforcing Discord's message and global rate limits on `emu` (checked before other faults)."""
    enforcer = RateLimits(**limits)  # type: ignore[arg-type]
    emu.rest.faults.insert(0, enforcer)
    return enforcer
