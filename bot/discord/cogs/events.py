"""Gateway events that stop digests: a deleted channel or a guild the bot left pauses the digests posting
there, with the reason, exactly as a 404 or 403 from Discord would."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.delivery import runner_of
from bot.store import digests as store

if TYPE_CHECKING:
    from bot.discord.client import DigestBot

log = logging.getLogger(__name__)


class DigestEvents(commands.Cog):
    """Pauses digests whose channel or guild is gone."""

    def __init__(self, bot: DigestBot) -> None:
        self.bot = bot

    async def _pause(self, records: list[store.DigestRecord], reason: str) -> None:
        """Pause each digest; one already paused (say by a delivery's 404 a moment earlier) keeps its
        reason and is not announced again (the runner decides that, atomically)."""
        runner = runner_of(self.bot)
        for record in records:
            await runner.pause(record.key, reason)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        affected = [r for r in await store.list_digests(self.bot.db) if r.channel_id == channel.id]
        await self._pause(affected, f"channel {channel.id} (#{channel.name}) was deleted")

    @commands.Cog.listener()
    async def on_thread_delete(self, thread: discord.Thread) -> None:
        affected = [r for r in await store.list_digests(self.bot.db) if r.channel_id == thread.id]
        await self._pause(affected, f"thread {thread.id} ({thread.name}) was deleted")

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        channel_ids = {channel.id for channel in guild.channels} | {thread.id for thread in guild.threads}
        affected = [
            record for record in await store.list_digests(self.bot.db)
            if record.guild_id == guild.id or record.channel_id in channel_ids
        ]
        await self._pause(affected, f"the bot is no longer in server {guild.id} ({guild.name})")


async def setup(bot: DigestBot) -> None:
    await bot.add_cog(DigestEvents(bot))
