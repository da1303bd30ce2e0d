"""The audit trail of admin actions: every change and every refusal is recorded, then announced.

Recorded in the store (`audit_log`: who, which guild, what, when, before → after, outcome) so it survives
restarts; announced in `discord.log_channel_id` when one is set, so the people running the bot see it
happen. The announcement is an embed that pings nobody; one that fails (channel gone, missing access) is
logged and not retried — the record in the store is what counts. Read-only commands are not audited.

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

import discord

from bot.render.embeds import message, notice
from bot.render.text import FIELD_VALUE_LIMIT, clean, discord_timestamp, truncate
from bot.store.digests import record_audit
from bot.ui.replies import message_kwargs

if TYPE_CHECKING:
    from bot.client import DigestBot

log = logging.getLogger(__name__)

APPLIED = "applied"
UNCHANGED = "unchanged"
REFUSED = "refused"
FAILED = "failed"
OUTCOME_KINDS = {APPLIED: "info", UNCHANGED: "info", REFUSED: "warning", FAILED: "error"}


@dataclass(frozen=True)
class AuditEvent:
    """One admin action as recorded: who (None for the bot itself, e.g. the corpus watcher), where, what,
    on what, the state before and after (JSON-ready), the outcome, and a one-paragraph plain-text summary
    for people (escaped when announced)."""

    actor_id: int | None
    guild_id: int | None
    action: str
    target: str | None
    outcome: str
    summary: str
    before: Any = None
    after: Any = None


@dataclass
class _Burst:
    """A member's refusals announced in one post: where it is, since when, how many so far."""

    message: discord.Message | None
    since: datetime
    count: int


class RefusalCoalescer:
    """Which announced post each member's recent refusals go to (one per member and log channel)."""

    def __init__(self) -> None:
        self._bursts: dict[tuple[int, int], _Burst] = {}
        self._lock = asyncio.Lock()

    async def announce(
        self, bot: DigestBot, channel_id: int, event: AuditEvent, actor_name: str | None, window: timedelta
    ) -> None:
        """Post the refusal, or fold it into the member's post from less than `window` ago."""
        assert event.actor_id is not None
        now = bot.now()
        key = (event.actor_id, channel_id)
        async with self._lock:
            for stale in [k for k, burst in self._bursts.items() if now - burst.since >= window]:
                del self._bursts[stale]
            burst = self._bursts.get(key)
            if burst is None:
                posted = await _announce(bot, channel_id, announcement(event, actor_name=actor_name))
                self._bursts[key] = _Burst(posted, now, 1)
                return
            burst.count += 1
            if burst.message is None:
                return
            payload = announcement(event, actor_name=actor_name, repeated=(burst.count, burst.since))
            try:
                await burst.message.edit(**message_kwargs(payload))
            except discord.HTTPException as error:
                log.warning("could not update the refusals post in log channel %s: %s %s", channel_id,
                            error.status, error.text)


_coalescers: weakref.WeakKeyDictionary[Any, RefusalCoalescer] = weakref.WeakKeyDictionary()


def coalescer_of(bot: DigestBot) -> RefusalCoalescer:
    """The bot's refusal coalescer (one per bot, created on first use)."""
    found = _coalescers.get(bot)
    if found is None:
        found = _coalescers[bot] = RefusalCoalescer()
    return found


def announcement(
    event: AuditEvent, *, actor_name: str | None, repeated: tuple[int, datetime] | None = None
) -> dict[str, Any]:
    """The log-channel message for `event` (mentions are inert: the actor is named, never pinged).
    `repeated` (count, since when) marks the post a member's coalesced refusals share."""
    if event.actor_id is None:
        who = "automatically"
    else:
        name = clean(actor_name) if actor_name else "user"
        who = f"by {name} (`{event.actor_id}`)"
    where = f" in server `{event.guild_id}`" if event.guild_id is not None else ""
    target = f" — {clean(event.target)}" if event.target else ""
    text = (
        f"**{clean(event.action)}** {who}{where}: {event.outcome}{target}\n"
        f"{clean(truncate(event.summary, FIELD_VALUE_LIMIT))}"
    )
    if repeated is not None:
        count, since = repeated
        text += f"\n**{count} refused attempts** by this member since {discord_timestamp(since, 'R')}."
    return message([notice(text, kind=OUTCOME_KINDS.get(event.outcome, "info"))])


async def audit(bot: DigestBot, event: AuditEvent, *, actor_name: str | None = None) -> None:
    """Record `event` and announce it in the log channel (if configured). Never raises: a failure to
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
    channel_id = bot.config.discord.log_channel_id
    if channel_id is None:
        return
    window = timedelta(minutes=bot.config.limits.audit_coalesce_minutes)
    if event.outcome == REFUSED and event.actor_id is not None and window > timedelta(0):
        await coalescer_of(bot).announce(bot, channel_id, event, actor_name, window)
    else:
        await _announce(bot, channel_id, announcement(event, actor_name=actor_name))


async def _announce(bot: DigestBot, channel_id: int, payload: dict[str, Any]) -> discord.Message | None:
    """Post `payload` in the log channel; the message, or None when it could not be posted."""
    try:
        channel = bot.get_channel(channel_id) or await bot.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("log channel %s is not a text channel; audit announcement dropped", channel_id)
            return None
        return await channel.send(**message_kwargs(payload))
    except discord.HTTPException as error:
        log.warning("could not announce in log channel %s: %s %s", channel_id, error.status, error.text)
        return None
