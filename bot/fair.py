"""Fair sharing of lookups: what one member does must not slow the bot down for everyone else.

One cooldown bucket per member covers every lookup interaction (commands, page turns, `/digest preview` and
`explain` at full weight, autocomplete at a lighter one), and a member has at most one heavy query (a
search, a preview, an explanation) in flight, so one member can never hold more than one reader of the
database for heavy work. Both live on the bot (`DigestBot.lookup_limits`), shared by every cog, and read
the live `lookups` settings at each use so a configuration reload applies at once.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from discord import app_commands

from bot.config import LookupsConfig
from bot.store.db import QueryBudgetExceeded

log = logging.getLogger(__name__)

T = TypeVar("T")

#: What an autocomplete costs of the cooldown bucket: members type several letters per lookup.
AUTOCOMPLETE_WEIGHT = 0.2
#: The reply when SQLite interrupted a query that ran past its budget.
TOO_BROAD = "That search is too broad — add a word or a filter."
BUSY = "Your previous search is still running. Wait for its answer, then try again."
#: A preview or explanation composes a run; it may take this long inside SQLite, then it is refused.
PREVIEW_BUDGET_SECONDS = 1.0
TOO_BROAD_PREVIEW = (
    "Composing that digest took too long right now; try again in a minute, or ask an admin to narrow its "
    "keywords."
)


class MemberBusy(app_commands.CheckFailure):
    """The member already has a heavy query in flight; the message says to wait for it."""

    def __init__(self) -> None:
        super().__init__(BUSY)


class SlidingCooldown:
    """At most `uses` (weighted) uses per member in any `seconds`-long window, with the limits read at each
    use.

    Reading the live settings means a configuration reload changes the cooldown at once; `uses` 0 turns
    it off. `now` is the bot's clock, so tests move time instead of waiting.
    """

    def __init__(self, settings: Callable[[], LookupsConfig], now: Callable[[], datetime]) -> None:
        self._settings = settings
        self._now = now
        self._uses: dict[int, deque[tuple[datetime, float]]] = {}

    def hit(self, user_id: int, weight: float = 1.0) -> float | None:
        """Record a use of `weight` by `user_id`; None when allowed, else the seconds until it would be."""
        settings = self._settings()
        if settings.cooldown_uses <= 0:
            self._uses.clear()
            return None
        now = self._now()
        window = settings.cooldown_seconds
        self._forget_idle(now, window)
        recent = self._uses.setdefault(user_id, deque())
        while recent and (now - recent[0][0]).total_seconds() >= window:
            recent.popleft()
        used = sum(cost for _, cost in recent)
        if used + weight > settings.cooldown_uses + 1e-9:
            freed = 0.0
            for at, cost in recent:
                freed += cost
                if used - freed + weight <= settings.cooldown_uses + 1e-9:
                    return max(window - (now - at).total_seconds(), 0.0)
            return window
        recent.append((now, weight))
        return None

    def check(self, user_id: int, weight: float = 1.0) -> None:
        """`hit`, raising CommandOnCooldown (which the error handler words for the member) when refused."""
        retry_after = self.hit(user_id, weight)
        if retry_after is not None:
            log.info("lookup by %s refused: cooldown for %.1fs", user_id, retry_after)
            settings = self._settings()
            raise app_commands.CommandOnCooldown(
                app_commands.Cooldown(settings.cooldown_uses, settings.cooldown_seconds), retry_after
            )

    def _forget_idle(self, now: datetime, window: float) -> None:
        """Drop members whose last use left the window, so the map does not grow with every member seen."""
        idle = [
            user for user, uses in self._uses.items()
            if not uses or (now - uses[-1][0]).total_seconds() >= window
        ]
        for user in idle:
            del self._uses[user]


class InFlight:
    """The members with a query of one kind running now."""

    def __init__(self) -> None:
        self._members: set[int] = set()

    def busy(self, user_id: int) -> bool:
        return user_id in self._members

    @contextmanager
    def running(self, user_id: int) -> Iterator[None]:
        """Mark the member's query as running; MemberBusy when one already is."""
        if user_id in self._members:
            raise MemberBusy()
        self._members.add(user_id)
        try:
            yield
        finally:
            self._members.discard(user_id)


class LookupLimits:
    """The bot's shared cooldown bucket and in-flight records (heavy queries, autocompletes)."""

    def __init__(self, settings: Callable[[], LookupsConfig], now: Callable[[], datetime]) -> None:
        self.cooldown = SlidingCooldown(settings, now)
        self.heavy = InFlight()
        self.typing = InFlight()

    def autocomplete_allowed(self, user_id: int) -> bool:
        """Whether an autocomplete may query now: one at a time per member, within the cooldown bucket at
        `AUTOCOMPLETE_WEIGHT` (a refused one simply offers no choices)."""
        if self.typing.busy(user_id):
            return False
        return self.cooldown.hit(user_id, AUTOCOMPLETE_WEIGHT) is None


async def limited_choices(
    limits: LookupLimits, user_id: int, build: Callable[[], Awaitable[list[T]]]
) -> list[T]:
    """Autocomplete choices from `build`, or none when the member is typing faster than the bucket allows,
    already has one autocomplete running, or the query ran past its budget (autocomplete cannot show an
    error, and the member's next keystroke asks again)."""
    if not limits.autocomplete_allowed(user_id):
        return []
    with limits.typing.running(user_id):
        try:
            return await build()
        except QueryBudgetExceeded:
            log.info("autocomplete by %s ran past its budget; no choices offered", user_id)
            return []
