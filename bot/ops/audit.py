"""The audit trail of admin actions: every change and every refusal is recorded, then announced.

Recorded in the store (`audit_log`: who, which guild, what, when, before → after, outcome) so it survives
restarts; announced in the log channel the event belongs to (bot/log_routing.py: a server's own business in
that server's channel, bot-wide actions and config digests in `discord.log_channel_id`), so the people
running it see it happen and no server sees another's. The announcement is an embed that pings nobody; one
that fails (channel gone, missing access) is logged and not retried — the record in the store is what
counts. Read-only commands are not audited.

Refusals are recorded one by one but announced coalesced: a member refused again within
`limits.audit_coalesce_minutes` of their first announced refusal does not get a new post; that post is
edited instead to show the latest refusal and how many there were, so nobody can flood the log channel.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.announce import edit, log_channel, post, server_of
from bot.log_routing import Subject
from bot.render.announcements import audit_announcement
from bot.render.text import discord_timestamp
from bot.store.audit_log import record_audit

if TYPE_CHECKING:
    from bot.host import BotHost

log = logging.getLogger(__name__)

APPLIED = "applied"
UNCHANGED = "unchanged"
REFUSED = "refused"
FAILED = "failed"
OUTCOME_KINDS = {APPLIED: "info", UNCHANGED: "info", REFUSED: "warning", FAILED: "error"}


@dataclass(frozen=True)
class AuditEvent:
    """One admin action as recorded: who (None for the bot itself, e.g. the corpus watcher), where, what,
    on what, the state before and after (JSON-ready), the outcome, a one-paragraph plain-text summary
    for people (escaped when announced), and whose business it is (`about`; None: a bot-wide action)."""

    actor_id: int | None
    guild_id: int | None
    action: str
    target: str | None
    outcome: str
    summary: str
    before: Any = None
    after: Any = None
    about: Subject | None = None

    @property
    def subject(self) -> Subject:
        return self.about or Subject(self.guild_id, server_scoped=False)


@dataclass
class _Burst:
    """A member's refusals announced in one post: which message it is, since when, how many so far."""

    message_id: int | None
    since: datetime
    count: int


class RefusalCoalescer:
    """Which announced post each member's recent refusals go to (one per member and log channel)."""

    def __init__(self) -> None:
        self._bursts: dict[tuple[int, int], _Burst] = {}
        self._lock = asyncio.Lock()

    async def announce(self, bot: BotHost, channel_id: int, event: AuditEvent, window: timedelta) -> None:
        """Post the refusal, or fold it into the member's post from less than `window` ago."""
        assert event.actor_id is not None
        now = bot.now()
        key = (event.actor_id, channel_id)
        server = server_of(bot, event.guild_id)
        what = f"the audit entry for {event.action}"
        async with self._lock:
            for stale in [k for k, burst in self._bursts.items() if now - burst.since >= window]:
                del self._bursts[stale]
            burst = self._bursts.get(key)
            if burst is None:
                posted = await post(bot, channel_id, announcement(event, server=server), what=what)
                self._bursts[key] = _Burst(posted, now, 1)
                return
            burst.count += 1
            if burst.message_id is None:
                return
            payload = announcement(event, server=server, repeated=(burst.count, burst.since))
            await edit(bot, channel_id, burst.message_id, payload, what="the refusals post")


_coalescers: weakref.WeakKeyDictionary[Any, RefusalCoalescer] = weakref.WeakKeyDictionary()


def coalescer_of(bot: BotHost) -> RefusalCoalescer:
    """The bot's refusal coalescer (one per bot, created on first use)."""
    found = _coalescers.get(bot)
    if found is None:
        found = _coalescers[bot] = RefusalCoalescer()
    return found


def announcement(
    event: AuditEvent, *, server: str | None, repeated: tuple[int, datetime] | None = None
) -> dict[str, Any]:
    """The log-channel message for `event`: the actor as a mention (never pinged), the server by name.
    `repeated` (count, since when) marks the post a member's coalesced refusals share."""
    note = None
    if repeated is not None:
        count, since = repeated
        note = f"**{count} refused attempts** by this member since {discord_timestamp(since, 'R')}."
    return audit_announcement(
        action=event.action, outcome=event.outcome, summary=event.summary, target=event.target,
        actor_id=event.actor_id, server=server, kind=OUTCOME_KINDS.get(event.outcome, "info"), note=note,
    )


async def audit(bot: BotHost, event: AuditEvent) -> None:
    """Record `event` and announce it in its log channel (if there is one). Never raises: a failure to
    record or announce is logged, and the action it describes stands."""
    try:
        await record_audit(
            bot.db,
            actor_id=event.actor_id,
            guild_id=event.guild_id,
            action=event.action,
            target=event.target,
            before=event.before,
            after=event.after,
            outcome=event.outcome,
            now=bot.now(),
        )
    except Exception:
        log.exception("could not record the audit entry for %s (%s)", event.action, event.outcome)
    log.info(
        "audit: %s by %s in guild %s: %s (%s)",
        event.action, event.actor_id, event.guild_id, event.outcome, event.target,
    )
    try:
        await _announce(bot, event)
    except Exception:
        log.exception("could not announce the audit entry for %s (%s)", event.action, event.outcome)


async def _announce(bot: BotHost, event: AuditEvent) -> None:
    channel_id = await log_channel(bot, event.subject)
    if channel_id is None:
        return
    window = timedelta(minutes=bot.config.limits.audit_coalesce_minutes)
    if event.outcome == REFUSED and event.actor_id is not None and window > timedelta(0):
        await coalescer_of(bot).announce(bot, channel_id, event, window)
    else:
        payload = announcement(event, server=server_of(bot, event.guild_id))
        await post(bot, channel_id, payload, what=f"the audit entry for {event.action}")
