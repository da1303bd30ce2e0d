"""`/admin settings …`: a server's own settings for the bot, chosen by its server admins.

`log-channel` picks the channel where this server's business is announced — its digests created from
Discord (pauses, changes) and the refusals of its admins' digest commands — so it never has to go through
the operator's bot-wide log channel, and no other server ever sees it (bot/log_routing.py). Every change is
audited and announced like a digest change.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.digest import edits
from bot.discord.client import DigestBot
from bot.discord.cogs.admin import AdminSubgroupCog
from bot.discord.ui import replies
from bot.log_routing import Subject
from bot.ops.audit import APPLIED, REFUSED, AuditEvent, audit
from bot.permissions import AdminOnly, guild_admin
from bot.render.embeds import NOTICE_COLORS
from bot.render.message import message
from bot.render.text import DESCRIPTION_LIMIT, truncate
from bot.store.guild_settings import guild_log_channel, set_guild_log_channel

ACTION = "change this server's settings"


def settings_reply(text: str, *, kind: str = "info") -> dict[str, Any]:
    """One embed of the bot's own wording, channel mentions live (embeds never ping)."""
    return message([{"color": NOTICE_COLORS[kind], "description": truncate(text, DESCRIPTION_LIMIT)}])


def channel_text(channel_id: int | None) -> str:
    return "none" if channel_id is None else f"<#{channel_id}>"


def cleared_text(home: bool, bot_wide: bool) -> str:
    """Where this server's announcements go without a channel of its own."""
    if home and bot_wide:
        return "they go to the bot's own log channel (this is one of the bot's home servers)"
    return "they are not announced in any channel (digests with their own log channel still announce there)"


class SettingsAdmin(app_commands.Group, name="settings", description="This server's settings for the bot"):
    """`/admin settings …`; each command re-checks that the caller administers this server."""

    def __init__(self, bot: DigestBot) -> None:
        super().__init__()
        self.bot = bot

    async def record(
        self, interaction: discord.Interaction, *, outcome: str, summary: str, before: Any = None,
        after: Any = None,
    ) -> None:
        event = AuditEvent(
            actor_id=interaction.user.id, guild_id=interaction.guild_id, action="settings log-channel",
            target=None, outcome=outcome, summary=summary, before=before, after=after,
            about=Subject(interaction.guild_id, server_scoped=True),
        )
        await audit(self.bot, event)

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        """Refusals by the server-admin rule are audited (the tree's error handler tells the user)."""
        if isinstance(error, AdminOnly):
            refusal = self.record(interaction, outcome=REFUSED, summary=error.message,
                                  after={"reason": error.message})
            self.bot.spawn(refusal, name="audit-refusal")

    @app_commands.command(
        name="log-channel",
        description="Where this server's digest announcements go (leave out the channel to stop using one)",
    )
    @app_commands.describe(channel="A text channel of this server where I can post embeds")
    @guild_admin(ACTION)
    async def log_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        guild = interaction.guild
        assert guild is not None  # /admin is guild-only
        payload = await replies.within_deadline(interaction, self._log_channel(interaction, guild, channel),
                                                ephemeral=True)
        await replies.send(interaction, payload, ephemeral=True)

    async def _log_channel(
        self, interaction: discord.Interaction, guild: discord.Guild, channel: discord.TextChannel | None
    ) -> dict[str, Any]:
        if channel is not None:
            perms = channel.permissions_for(guild.me)
            missing = edits.missing_permissions(lambda name: getattr(perms, name),
                                                edits.LOG_CHANNEL_PERMISSIONS)
            if missing:
                text = "Not changed. " + edits.permissions_refusal(channel.id, missing, what="announce")
                await self.record(interaction, outcome=REFUSED, summary=text, after={"reason": text})
                return settings_reply(text, kind="warning")
        before = await guild_log_channel(self.bot.db, guild.id)
        after = None if channel is None else channel.id
        if before == after:
            already = channel_text(after)
            return settings_reply(f"Nothing changed: this server's log channel is already {already}.")
        await set_guild_log_channel(self.bot.db, guild.id, after, now=self.bot.now())
        summary = f"Log channel: {channel_text(before)} → {channel_text(after)}"
        await self.record(interaction, outcome=APPLIED, summary=summary,
                          before={"log_channel_id": before}, after={"log_channel_id": after})
        if after is not None:
            return settings_reply(
                f"This server's digest announcements and refusals now go to <#{after}>. "
                "A digest with its own log channel still announces there."
            )
        discord_config = self.bot.config.discord
        where = cleared_text(guild.id in discord_config.guild_ids, discord_config.log_channel_id is not None)
        return settings_reply(f"This server has no log channel of its own any more: {where}.")


class AdminSettings(AdminSubgroupCog):
    """Adds `/admin settings` to the `/admin` group while loaded."""

    def __init__(self, bot: DigestBot) -> None:
        super().__init__(bot, SettingsAdmin(bot))


async def setup(bot: DigestBot) -> None:
    await bot.add_cog(AdminSettings(bot))
