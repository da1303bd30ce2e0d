"""The routes of forum and announcement channels: forum posts (a thread opened with its first message, with
tags), the active and archived thread lists, and publishing (crossposting) with Discord's hourly limit.

Part of the emulated REST API (server.py), on the same world and with the same checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import checks, server
from .state import CROSSPOSTED, GUILD_ANNOUNCEMENT, MANAGE_MESSAGES, PUBLIC_THREAD, SEND_MESSAGES, Channel

if TYPE_CHECKING:
    from .server import RestApi


class ChannelKindRoutes:
    """Handlers for forum and announcement channels, registered by RestApi."""

    def __init__(self, rest: RestApi) -> None:
        self.rest = rest
        #: Crossposts per announcement channel: the emulator clock's time of each, for the hourly limit.
        self.crossposts: dict[str, list[float]] = {}

    async def forum_post(self, request: web.Request, forum: Channel) -> web.Response:
        """A forum post: a thread whose starter message (same id as the thread) is in the body."""
        self.rest._require(forum, SEND_MESSAGES)
        body = self.rest._body(request)
        starter = body.get("message")
        problems = [] if isinstance(starter, dict) else ["message: a forum post needs its first message"]
        if isinstance(starter, dict):
            problems += [f"message.{problem}" for problem in checks.check_message(starter, creating=True)]
        tags = [str(tag) for tag in body.get("applied_tags") or []]
        known = {str(tag["id"]) for tag in forum.available_tags}
        problems += [f"applied_tags: unknown tag {tag}" for tag in tags if tag not in known]
        if len(tags) > checks.APPLIED_TAGS_MAX:
            problems.append(f"applied_tags: {len(tags)} tags, limit {checks.APPLIED_TAGS_MAX}")
        self.rest._check(request, problems)
        assert isinstance(starter, dict)
        thread_id = self.rest.world.snowflakes.next()
        thread = await self.rest._create_thread(forum, thread_id, body)
        thread.applied_tags = tags
        message = self.rest._new_message(thread, starter, request[server.FILES], message_id=thread_id)
        await self.rest._announce("MESSAGE_CREATE", message)
        return server.json_response({**thread.payload(), "message": message.payload()}, 201)

    async def crosspost(self, request: web.Request) -> web.Response:
        """Publishing a message in an announcement channel, at most `crosspost_limit` per channel per
        `crosspost_window` seconds (Discord: 10 an hour); a message is published once."""
        channel = self.rest._channel(request.match_info["cid"])
        message = self.rest._message(channel.id, request.match_info["mid"])
        own = message.author.id == self.rest.world.bot_user.id
        self.rest._require(channel, SEND_MESSAGES if own else MANAGE_MESSAGES)
        self.rest._check(request, [])
        if channel.type != GUILD_ANNOUNCEMENT:
            raise server.DiscordError(400, 50068, "Invalid message type for this operation")
        if message.flags & CROSSPOSTED:
            raise server.DiscordError(400, 40033, "This message has already been crossposted.")
        now = self.rest.emu.clock()
        window = self.rest.emu.crosspost_window
        recent = [at for at in self.crossposts.get(channel.id, []) if now - at < window]
        if len(recent) >= self.rest.emu.crosspost_limit:
            retry_after = round(recent[0] + window - now, 3)
            body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
            headers = {
                "Retry-After": str(max(1, round(retry_after))),
                "X-RateLimit-Scope": "shared",
            }
            return server.json_response(body, 429, headers)
        self.crossposts[channel.id] = [*recent, now]
        message.flags |= CROSSPOSTED
        await self.rest._announce("MESSAGE_UPDATE", message)
        return server.json_response(message.payload())

    async def active_threads(self, request: web.Request) -> web.Response:
        guild = self.rest._guild(request.match_info["guild"])
        threads = [c.payload() for c in guild.channels.values() if c.is_thread and not c.archived]
        return server.json_response({"threads": threads, "members": []})

    async def archived_public_threads(self, request: web.Request) -> web.Response:
        """The newest archived public threads of a channel (one page; `before` paging is not emulated)."""
        channel = self.rest._channel(request.match_info["cid"])
        self.rest._require(channel, 1 << 16)
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        threads = sorted(
            (c for c in self.rest.world.channels.values()
             if c.is_thread and c.archived and c.parent_id == channel.id and c.type == PUBLIC_THREAD),
            key=lambda c: int(c.id), reverse=True,
        )
        page = threads[:limit]
        body = {"threads": [c.payload() for c in page], "members": [], "has_more": len(threads) > limit}
        return server.json_response(body)
