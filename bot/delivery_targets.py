"""What a digest's channel is when a run is delivered, and what that changes: a forum channel takes each
run as one post (found again after a crash by its first message), an announcement channel has
its messages published (crossposted) to following servers, and the run's first message may ping the
digest's role when the bot may still ping it.

The shell side of bot/delivery.py: it looks at Discord (the cache, else REST) and reports plain facts;
DigestRunner decides with them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.http import Route

from bot.config import DigestSettings
from bot.digest import reconcile as decisions
from bot.digest.schedule import zone
from bot.permissions import role_ping_problem
from bot.render.digest import forum_post_name, message_key, same_message
from bot.render.text import clean
from bot.store import publishing

if TYPE_CHECKING:
    from bot.host import BotHost

log = logging.getLogger(__name__)

#: Discord's answer to publishing a message that already was: the publish is done.
ALREADY_CROSSPOSTED = 40033
#: A publish that failed for a passing reason (5xx, timeout, connection) is tried again this much later.
PUBLISH_RETRY = timedelta(minutes=1)
#: The look for an interrupted forum post reads the active posts and one page of archived ones.
ARCHIVED_POSTS_PAGE = 50


@dataclass(frozen=True)
class Target:
    """What a run's channel is: a forum (each run one post, with `tag_ids`), an announcement channel
    whose messages are published, and the role the first message pings (None: nobody)."""

    guild_id: int | None
    forum: bool = False
    publish: bool = False
    ping_role: int | None = None
    tag_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Looked:
    """The target, and what the digest's log channel should be told about it (a ping or tags dropped)."""

    target: Target
    notices: tuple[str, ...] = ()


def tag_ids(wanted: tuple[str, ...], available: list[discord.ForumTag]) -> tuple[tuple[int, ...], list[str]]:
    """The ids of the forum tags named in `wanted` (case-insensitive), and the names the forum lacks."""
    by_name = {tag.name.casefold(): tag.id for tag in available}
    found = tuple(dict.fromkeys(by_name[name.casefold()] for name in wanted if name.casefold() in by_name))
    return found, [name for name in wanted if name.casefold() not in by_name]


async def look_at_channel(
    bot: BotHost,
    settings: DigestSettings,
    *,
    first_unsent: bool,
    fetch: Callable[[], Awaitable[Any]],
) -> Looked:
    """The channel's kind, and what the run's first message carries when it is still to be sent
    (`first_unsent`): the role ping, and in a forum the post's tags. `fetch` reads the channel from Discord
    when the cache does not have it (raising the delivery's errors for a channel the bot cannot use)."""
    needs_guild = settings.ping_role is not None or bool(settings.forum_tags)
    if needs_guild and not bot.is_ready():
        await bot.wait_until_ready()  # roles, tags and permissions come with the guild from the gateway
    channel = bot.get_channel(settings.channel_id) or await fetch()
    guild = getattr(channel, "guild", None)
    notices: list[str] = []
    forum = isinstance(channel, discord.ForumChannel)
    publish = settings.publish and isinstance(channel, discord.TextChannel) and channel.is_news()
    if settings.publish and not publish:
        log.warning("digest %r: publish is set but channel %s is not an announcement channel; not "
                    "publishing", settings.name, settings.channel_id)
    found_tags: tuple[int, ...] = ()
    if forum and settings.forum_tags and first_unsent:
        found_tags, missing = tag_ids(settings.forum_tags, channel.available_tags)
        if missing:
            names = ", ".join(f"'{clean(name)}'" for name in missing)
            notices.append(f"posted without the forum tag {names}: the forum <#{settings.channel_id}> has "
                           "no such tag")
    ping = None
    if settings.ping_role is not None and first_unsent:
        role = guild.get_role(settings.ping_role) if isinstance(guild, discord.Guild) else None
        me = guild.me if isinstance(guild, discord.Guild) else None
        may_mention_everyone = (
            me is not None and isinstance(channel, discord.abc.GuildChannel)
            and channel.permissions_for(me).mention_everyone
        )
        problem = role_ping_problem(
            settings.ping_role, exists=role is not None, is_everyone=role is not None and role.is_default(),
            mentionable=role is not None and role.mentionable, may_mention_everyone=may_mention_everyone,
            who="I",
        )
        if problem is None:
            ping = settings.ping_role
        else:
            notices.append(f"posted without its role ping: {problem}")
    guild_id = guild.id if guild is not None else None
    return Looked(Target(guild_id, forum, publish, ping, found_tags), tuple(notices))


def forum_post_body(
    settings: DigestSettings, target: Target, payload: dict[str, Any], moment: datetime, *,
    archive_minutes: int,
) -> dict[str, Any]:
    """The request opening a run's forum post: titled with the digest and the run's local date, its first
    message inside, the forum tags found applied."""
    body: dict[str, Any] = {
        "name": forum_post_name(settings, moment.astimezone(zone(settings.timezone)).date()),
        "message": payload,
        "auto_archive_duration": archive_minutes,
    }
    if target.tag_ids:
        body["applied_tags"] = [str(tag) for tag in target.tag_ids]
    return body


async def open_forum_post(
    bot: BotHost,
    body: dict[str, Any],
    *,
    target: Target,
    forum_id: int,
    since: datetime,
    uncertain: bool,
    pace: Callable[[], Awaitable[None]],
    call: Callable[..., Awaitable[Any]],
    gave_up: type[Exception],
    log_prefix: str,
) -> int:
    """Open the run's forum post and return its id (the post's thread id, also its first message's).
    A post has no nonce, so when its outcome is unknown (`uncertain`: resumed after an interruption, or
    an attempt whose answer was lost) the forum is first searched for it (its first message) since `since`.
    `pace` waits for the delivery's turn; `call` makes a request with the delivery's failure rules (`gave_up`
    is what it raises on giving up)."""
    first = body["message"]

    async def existing_post() -> dict[str, Any] | None:
        if message_key(first) is None or target.guild_id is None:
            return None
        try:
            found = await find_forum_post(bot, guild_id=target.guild_id, forum_id=forum_id, first=first,
                                          since=since, call=call)
        except gave_up as error:
            log.warning("%s: could not look for an earlier forum post (%s); posting", log_prefix, error)
            return None
        if found is not None:
            log.info("%s: adopting forum post %s opened before an interruption", log_prefix, found)
        return None if found is None else {"id": str(found)}

    async def send() -> Any:
        await pace()
        return await bot.http.request(Route("POST", "/channels/{channel_id}/threads", channel_id=forum_id),
                                      json=body)

    created = await existing_post() if uncertain else None
    if created is None:
        created = await call("forum post", send, before_retry=existing_post)
    return int(created["id"])


async def find_forum_post(
    bot: BotHost,
    *,
    guild_id: int,
    forum_id: int,
    first: dict[str, Any],
    since: datetime,
    call: Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]],
) -> int | None:
    """The id of a post the bot already opened in the forum since `since` whose first message is `first`
    (`same_message`), if any: the active posts and the newest page of archived ones are read."""
    if bot.user is None:
        return None
    after = discord.utils.time_snowflake(since)
    active = await call("active forum posts", lambda: bot.http.get_active_threads(guild_id))
    archived = await call("archived forum posts",
                          lambda: bot.http.get_public_archived_threads(forum_id, limit=ARCHIVED_POSTS_PAGE))
    threads = [*active.get("threads", []), *archived.get("threads", [])]
    candidates = sorted(
        {int(thread["id"]) for thread in threads
         if str(thread.get("parent_id")) == str(forum_id) and int(thread["id"]) > after}
    )
    for post_id in candidates:
        opening = await call("a forum post's first message",
                             lambda post=post_id: bot.http.get_message(post, post))
        mine = opening.get("author", {}).get("id") == str(bot.user.id)
        if mine and same_message(first, opening):
            return post_id
    return None


async def publish(
    bot: BotHost, name: str, pending: publishing.PendingPublish, *, timeout: float,
    announce: Callable[[str], Awaitable[None]],
) -> bool:
    """Publish one sent message so following servers get it; False when Discord holds publishing back
    (its limit is 10 an hour per channel), which is recorded with the time to try again. A message that
    was already published counts as done, so a repeat never publishes twice; one Discord refuses for good
    is recorded as refused and `announce`d."""
    route = Route("POST", "/channels/{channel_id}/messages/{message_id}/crosspost",
                  channel_id=pending.channel_id, message_id=pending.message_id)
    result = publishing.PUBLISHED
    try:
        await asyncio.wait_for(bot.http.request(route), timeout)
    except discord.RateLimited as limited:
        until = bot.now() + timedelta(seconds=limited.retry_after)
        log.warning("digest %r: publishing message %s is rate-limited by Discord; trying again at %s",
                    name, pending.message_id, until.isoformat(timespec="seconds"))
        await publishing.delay(bot.db, pending.run_id, until)
        return False
    except discord.HTTPException as error:
        if error.code == ALREADY_CROSSPOSTED:
            log.info("digest %r: message %s was already published", name, pending.message_id)
        elif decisions.is_transient(error.status):
            await publishing.delay(bot.db, pending.run_id, bot.now() + PUBLISH_RETRY)
            log.warning("digest %r: publishing message %s failed (%s); trying again shortly", name,
                        pending.message_id, error.status)
            return False
        else:
            log.error("digest %r: Discord refused to publish message %s: %s (code %s)", name,
                      pending.message_id, error.status, error.code)
            await announce(f"could not publish message {pending.message_id} in <#{pending.channel_id}>: "
                           f"Discord refused it ({error.status}, code {error.code}); check my permissions "
                           "there")
            result = publishing.REFUSED
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        await publishing.delay(bot.db, pending.run_id, bot.now() + PUBLISH_RETRY)
        log.warning("digest %r: publishing message %s failed (%s); trying again shortly", name,
                    pending.message_id, type(error).__name__)
        return False
    await publishing.set_result(bot.db, pending.run_id, pending.part, result)
    return True


async def publish_due(
    bot: BotHost, name: str, *, timeout: float, announce: Callable[[str], Awaitable[None]]
) -> None:
    """Publish the digest's sent messages that wait for it (held back by Discord's rate limit, or
    interrupted), oldest first; stop at the first one Discord holds back again."""
    for pending in await publishing.due(bot.db, name, now=bot.now()):
        if not await publish(bot, name, pending, timeout=timeout, announce=announce):
            return
