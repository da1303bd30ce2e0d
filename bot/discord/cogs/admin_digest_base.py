"""What every `/admin digest …` command shares: its options' descriptions and choices, the channel option,
this server's digests, validation, and the audit of every change and refusal.

The commands themselves are in bot/discord/cogs/admin_digests.py (discord.py collects a group's commands
from its own class body, so they stay together there).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.compose import next_run
from bot.config import DIGEST_MODES, DIGEST_STYLES, DigestSettings, digest_settings_from_mapping
from bot.digest import edits
from bot.discord.client import DigestBot
from bot.discord.ui.choices import matching_names
from bot.guild_digests import guild_digest, guild_digests
from bot.log_routing import Subject
from bot.ops.audit import APPLIED, AuditEvent, audit
from bot.ops.audit import REFUSED as AUDIT_REFUSED
from bot.permissions import AdminOnly
from bot.render.digest_admin import plain_reason, reply, typed_name, unknown_text
from bot.store import digests as store

#: What each option of create/edit asks for (Discord shows it under the option).
DESCRIBE = {
    "name": "The digest's name: 1-32 lower-case letters, digits, '-' or '_'",
    "channel": "The text channel it posts to",
    "schedule": (
        "When it posts: daily 08:00, weekdays 08:00, mondays 09:30, every 6 hours, or cron 0 8 * * 1-5"
    ),
    "timezone": "The IANA time zone the schedule is in (e.g. Europe/Paris)",
    "min_quality": "Lowest article quality it posts (0-100)",
    "topics": "Topics, comma-separated; any of them matches ('-' clears)",
    "providers": "Providers by name or domain, comma-separated; any matches ('-' clears)",
    "keywords": "Words or phrases, comma-separated; any matches, full text ('-' clears)",
    "max_articles": "Stories per run (1-10)",
    "max_related": "Related links shown per story (0-10)",
    "backlog": "Existing articles the first run may post (0-50)",
    "mode": "Post in the channel, or as a thread under a header message",
    "published_only": "Only articles marked as published",
    "max_age_days": "Skip articles older than this many days at the slot (0 turns it off)",
    "log_channel": "Where this digest's problems are announced (default: this server's log channel)",
    "title": "The title heading each run (default: the name; '-' goes back to it)",
    "style": "compact: one short item per story; rich: the full article with its image",
    "color": "The embeds' stripe colour, e.g. #1f8b4c ('-' for the bot's blue)",
    "exclude_topics": "Leave out these topics, comma-separated ('-' clears)",
    "exclude_providers": "Leave out these providers by name or domain, comma-separated ('-' clears)",
    "exclude_keywords": "Leave out articles matching these words or phrases, comma-separated ('-' clears)",
    "footer": "A line under every story, up to 200 characters ('-' removes it)",
    "publish": "In an announcement channel, publish every message to following servers",
    "ping_role": "A role to ping once per run (mentionable, or you need Mention Everyone); @everyone: none",
    "forum_tags": "Forum channel: tags for each post, by name, comma-separated ('-' clears)",
}
MODE_CHOICES = [Choice(name=mode, value=mode) for mode in DIGEST_MODES]
STYLE_CHOICES = [Choice(name=style, value=style) for style in DIGEST_STYLES]


class DigestChannel(app_commands.Transformer):
    """A channel a digest can post to: text, announcement or forum (Discord's picker offers only those).
    The command uses its id; whether the bot can post there is checked before anything is saved."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum]

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> Any:
        return value


DigestChannelOption = app_commands.Transform[discord.abc.Snowflake, DigestChannel]


def chosen_role(role: discord.Role | None) -> int | None:
    """The ping_role option as a setting change: not given (None), a role's id, or 0 for @everyone, which
    a digest never pings and which so stands for "no ping"."""
    if role is None:
        return None
    return 0 if role.is_default() else role.id


def admin_member(interaction: discord.Interaction) -> discord.Member:
    """The admin as a server member (the /admin commands are guild-only)."""
    if not isinstance(interaction.user, discord.Member):
        raise TypeError("/admin digest is used in a server, by a member")
    return interaction.user



def next_moment(record: store.DigestRecord, now: datetime) -> datetime | None:
    """The digest's next slot: slots before its schedule start or its last check never run, so count from
    the latest of the three."""
    return next_run(record.settings, max(now, record.schedule_from, record.last_checked))


# --- the command group -------------------------------------------------------------------------------


class DigestAdminBase(app_commands.Group):
    """The helpers of `/admin digest`; it has no commands of its own."""

    def __init__(self, bot: DigestBot) -> None:
        super().__init__()
        self.bot = bot

    # --- this guild's digests

    async def guild_digests(self, guild_id: int) -> list[store.DigestRecord]:
        return await guild_digests(self.bot, self.bot.db, guild_id)

    async def guild_digest(self, guild_id: int, name: str) -> store.DigestRecord | None:
        return await guild_digest(self.bot, self.bot.db, guild_id, name)

    @staticmethod
    def unknown(name: str) -> dict[str, Any]:
        return reply(unknown_text(name), kind="warning")

    async def name_autocomplete(self, interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        if interaction.guild_id is None:
            return []
        return matching_names((record.name for record in await self.guild_digests(interaction.guild_id)),
                              current)

    async def timezone_autocomplete(self, interaction: discord.Interaction, current: str
                                    ) -> list[Choice[str]]:
        return [Choice(name=name, value=name) for name in edits.timezone_choices(current)]

    # --- checks shared by the commands

    def validate(self, mapping: Mapping[str, Any]) -> DigestSettings:
        """The same rules as a digest in config.yaml (the configured defaults fill what was not given)."""
        defaults = self.bot.config.digest_defaults
        return digest_settings_from_mapping(mapping, defaults, where="digest", file=None)

    async def refresh_schedule(self) -> None:
        """Let the alarms follow the stored digests at once (the minute sweep would, a minute later)."""
        if self.bot.digest_scheduler is not None:
            await self.bot.digest_scheduler.refresh()

    async def audit(
        self,
        interaction: discord.Interaction,
        *,
        action: str,
        summary: str,
        digest: store.DigestRecord | None = None,
        target: str | None = None,
        outcome: str = APPLIED,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Record who did what to a digest (state before → after) and announce it in the log channel of
        this server's business: the digest's own, this server's, or for a config digest the bot-wide one.
        `target` names what was asked for when no digest of this server was found."""
        about = Subject(interaction.guild_id, server_scoped=True)
        if digest is not None:
            about = Subject(interaction.guild_id, True, digest.source, digest.settings.log_channel_id)
        event = AuditEvent(
            actor_id=interaction.user.id, guild_id=interaction.guild_id, action=f"digest {action}",
            target=digest.name if digest is not None else target, outcome=outcome, summary=summary,
            before=before, after=after, about=about,
        )
        await audit(self.bot, event)

    async def record_refusal(
        self,
        interaction: discord.Interaction,
        *,
        action: str,
        reason: str,
        digest: store.DigestRecord | None = None,
        target: str | None = None,
    ) -> None:
        """The one audit path of every refusal: who was refused what, on which digest, and why (plain text,
        stored with the entry and announced)."""
        await self.audit(interaction, action=action, digest=digest, target=target, outcome=AUDIT_REFUSED,
                         summary=reason, after={"reason": reason})

    async def refuse(
        self,
        interaction: discord.Interaction,
        *,
        action: str,
        text: str,
        digest: store.DigestRecord | None = None,
        target: str | None = None,
    ) -> dict[str, Any]:
        """Audit a refusal and return the reply telling the admin (`text`, the bot's own markdown)."""
        await self.record_refusal(interaction, action=action, digest=digest, target=target,
                                  reason=plain_reason(text))
        return reply(text, kind="warning")

    async def refuse_unknown(self, interaction: discord.Interaction, action: str, name: str
                             ) -> dict[str, Any]:
        """Refuse acting on a digest this server does not have (another server's stays invisible)."""
        return await self.refuse(interaction, action=action, target=typed_name(name), text=unknown_text(name))

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        """Refusals by the server-admin rule are audited too (the tree's error handler tells the user)."""
        command = interaction.command
        if not isinstance(error, AdminOnly) or command is None:
            return
        refusal = self.record_refusal(interaction, action=command.name, target=None, reason=error.message)
        self.bot.spawn(refusal, name="audit-refusal")
