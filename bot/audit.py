"""The audit trail of admin actions: every change and every refusal is recorded, then announced.

Recorded in the store (`audit_log`: who, which guild, what, when, before → after, outcome) so it survives
restarts; announced in the log channel the event belongs to (bot/log_routing.py: a server's own business in
that server's channel, bot-wide actions and config digests in `discord.log_channel_id`), so the people
running it see it happen and no server sees another's. The announcement is an embed that pings nobody; one
that fails (channel gone, missing access) is logged and not retried — the record in the store is what
counts. Read-only commands are not audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.announce import log_channel, post, server_of
from bot.log_routing import Subject
from bot.render.announcements import audit_announcement
from bot.store.digests import record_audit

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


def announcement(event: AuditEvent, *, server: str | None) -> dict[str, Any]:
    """The log-channel message for `event`: the actor as a mention (never pinged), the server by name."""
    return audit_announcement(
        action=event.action, outcome=event.outcome, summary=event.summary, target=event.target,
        actor_id=event.actor_id, server=server, kind=OUTCOME_KINDS.get(event.outcome, "info"),
    )


async def audit(bot: DigestBot, event: AuditEvent) -> None:
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
    await _announce(bot, event)


async def _announce(bot: DigestBot, event: AuditEvent) -> None:
    try:
        channel_id = await log_channel(bot, event.subject)
        if channel_id is None:
            return
        payload = announcement(event, server=server_of(bot, event.guild_id))
        await post(bot, channel_id, payload, what=f"the audit entry for {event.action}")
    except Exception:
        log.exception("could not announce the audit entry for %s (%s)", event.action, event.outcome)
