"""Which digests belong to which server: a digest belongs to the guild of its channel.

Config digests only name a channel, so their guild is recorded the first time the bot can see that
channel. Both `/digest` and `/admin digest` look digests up through here, so another server's digests stay
invisible to every command.
"""

from __future__ import annotations

import logging

from discord.ext import commands

from bot.store import digests as store
from bot.store.db import Database

log = logging.getLogger(__name__)


async def resolve_guilds(bot: commands.Bot, db: Database) -> None:
    """Store the guild of every digest whose channel the bot can see but whose guild is not recorded."""
    for record in await store.list_digests(db):
        if record.guild_id is not None:
            continue
        guild = getattr(bot.get_channel(record.channel_id), "guild", None)
        if guild is not None:
            await store.set_guild(db, record.key, guild.id)
            log.info("digest %r: channel %d is in guild %d", record.name, record.channel_id, guild.id)


async def guild_digests(bot: commands.Bot, db: Database, guild_id: int) -> list[store.DigestRecord]:
    await resolve_guilds(bot, db)
    return await store.list_digests(db, guild_id=guild_id)


async def guild_digest(
    bot: commands.Bot, db: Database, guild_id: int, name: str
) -> store.DigestRecord | None:
    """This guild's digest called `name`, or None (another guild's digests are invisible: a name only
    another server uses is answered exactly like a name nobody uses). Should a config digest posting here
    share its name with one of the server's own, the server's own is the one its commands reach."""
    wanted = name.strip()
    found = [record for record in await guild_digests(bot, db, guild_id) if record.name == wanted]
    found.sort(key=lambda record: record.source != "runtime")
    return found[0] if found else None
