"""Posting in log channels: where (the rule of bot/log_routing.py, with the server's own choice read from
the store) and how (one attempt, bounded in time; a failure is logged and never retried, because the
audit record or the digest's pause is what counts, not the announcement of it)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.http import Route

from bot.log_routing import Subject, log_channel_for
from bot.render.announcements import server_label
from bot.store.guild_settings import guild_log_channel

if TYPE_CHECKING:
    from bot.host import BotHost
    from bot.store.digests import DigestRecord

log = logging.getLogger(__name__)

#: How long posting one announcement may take before it is given up (and logged).
ANNOUNCE_TIMEOUT_SECONDS = 30.0


def digest_subject(record: DigestRecord) -> Subject:
    """An announcement about this digest, for routing: its server, source and own log channel."""
    return Subject(record.guild_id, True, record.source, record.settings.log_channel_id)


async def log_channel(bot: BotHost, subject: Subject) -> int | None:
    """The channel to announce `subject` in (None: nowhere)."""
    own = None
    if subject.server_scoped and subject.guild_id is not None:
        own = await guild_log_channel(bot.db, subject.guild_id)
    return log_channel_for(
        subject,
        bot_log_channel_id=bot.config.discord.log_channel_id,
        home_guild_ids=bot.config.discord.guild_ids,
        guild_log_channel_id=own,
    )


def server_of(bot: BotHost, guild_id: int | None) -> str | None:
    """The server as an announcement names it (None when the event concerns no server)."""
    if guild_id is None:
        return None
    guild = bot.get_guild(guild_id)
    return server_label(None if guild is None else guild.name, guild_id)


async def post(bot: BotHost, channel_id: int, payload: dict[str, Any], *, what: str) -> int | None:
    """Send `payload` to the log channel once: the new message's id, or None (logged with `what`) when
    Discord did not take it."""
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    created = await _request(route, bot, payload, what=what, channel_id=channel_id)
    return None if created is None else int(created["id"])


async def edit(
    bot: BotHost, channel_id: int, message_id: int, payload: dict[str, Any], *, what: str
) -> bool:
    """Replace an announcement the bot posted; False (logged with `what`) when Discord did not take it."""
    route = Route("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=channel_id,
                  message_id=message_id)
    return await _request(route, bot, payload, what=what, channel_id=channel_id) is not None


async def _request(
    route: Route, bot: BotHost, payload: dict[str, Any], *, what: str, channel_id: int
) -> dict[str, Any] | None:
    try:
        return await asyncio.wait_for(bot.http.request(route, json=payload), ANNOUNCE_TIMEOUT_SECONDS)
    except discord.HTTPException as error:
        log.warning("could not announce %s in log channel %s: %s %s", what, channel_id, error.status,
                    error.text)
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        log.warning("could not announce %s in log channel %s: %s", what, channel_id, type(error).__name__)
    return None
