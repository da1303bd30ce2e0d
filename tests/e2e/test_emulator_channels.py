"""The emulator's forum channels, announcement channels and mention rules, driven by a plain discord.py
bot: what the digest tests rely on behaves as Discord documents it."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from tests.e2e.test_emulator import SampleBot, bot, general, guild
from tests.emulator import Emulator, Guild
from tests.emulator.state import CROSSPOSTED, GUILD_ANNOUNCEMENT

__all__ = ["bot", "guild"]  # fixtures shared with test_emulator.py


async def cached_channel(emulator: Emulator, bot: SampleBot, channel_id: str) -> Any:
    """The channel once the bot has seen its CHANNEL_CREATE."""
    await emulator.flush_events()
    for _ in range(250):
        found = bot.get_channel(int(channel_id))
        if found is not None:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"the bot never saw channel {channel_id}")


async def test_a_forum_post_is_a_thread_started_by_its_first_message_with_tags(
    emulator: Emulator, guild: Guild, bot: SampleBot
) -> None:
    forum_state = emulator.add_forum(guild, "forum", tags=["Daily"])
    forum = await cached_channel(emulator, bot, forum_state.id)
    assert isinstance(forum, discord.ForumChannel) and [t.name for t in forum.available_tags] == ["Daily"]
    created = await forum.create_thread(name="Daily news", content="first", applied_tags=forum.available_tags)
    assert created.thread.id == created.message.id
    (post,) = emulator.forum_posts(forum_state)
    assert post.name == "Daily news" and post.applied_tags == [forum_state.available_tags[0]["id"]]
    assert [m.content for m in emulator.channel_messages(post)] == ["first"]
    active = await bot.get_guild(int(guild.id)).active_threads()
    assert [thread.id for thread in active] == [created.thread.id]
    with pytest.raises(discord.HTTPException) as refused:
        await forum.create_thread(name="Bad", content="x", applied_tags=[discord.Object(1)])
    assert refused.value.code == 50035
    emulator.take_violations()
    with pytest.raises(discord.HTTPException) as not_here:
        await bot.http.send_message(forum.id, params=discord.http.handle_message_parameters(content="x"))
    assert not_here.value.code == 50008


async def test_publishing_in_an_announcement_channel_is_once_per_message_and_rate_limited(
    emulator: Emulator, guild: Guild, bot: SampleBot
) -> None:
    emulator.crosspost_limit, emulator.crosspost_window = 1, 0.3
    news_state = emulator.add_channel(guild, "news", type=GUILD_ANNOUNCEMENT)
    news = await cached_channel(emulator, bot, news_state.id)
    assert isinstance(news, discord.TextChannel) and news.is_news()
    first, second = await news.send("one"), await news.send("two")
    await first.publish()
    with pytest.raises(discord.HTTPException) as again:
        await first.publish()
    assert again.value.code == 40033
    await second.publish()  # over the limit: a 429 first, discord.py waits it out
    crossposts = emulator.requests_to("POST", rf"/channels/{news.id}/messages/\d+/crosspost")
    statuses = [r.status for r in crossposts]
    assert statuses == [200, 400, 429, 200]
    assert all(emulator.message(str(m.id)).flags & CROSSPOSTED for m in (first, second))
    plain = bot.get_channel(int(general(guild).id))
    assert isinstance(plain, discord.TextChannel)
    with pytest.raises(discord.HTTPException):
        await (await plain.send("three")).publish()


async def test_mentions_follow_allowed_mentions_and_mentionability(
    emulator: Emulator, guild: Guild, bot: SampleBot
) -> None:
    open_role = emulator.add_role(guild, "open", mentionable=True)
    closed_role = emulator.add_role(guild, "closed")
    await emulator.flush_events()
    channel = bot.get_channel(int(general(guild).id))
    assert isinstance(channel, discord.TextChannel)
    text = f"<@&{open_role.id}> <@&{closed_role.id}> @everyone"
    silent = await channel.send(text)
    sent = []
    for role in (open_role, closed_role):
        allowed = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(int(role.id))])
        sent.append(await channel.send(text, allowed_mentions=allowed))
    assert [(p.message_id, p.roles, p.everyone) for p in emulator.pings] == [
        (str(sent[0].id), (open_role.id,), False)]
    assert emulator.message(str(silent.id)).mention_roles == []
    assert emulator.message(str(sent[1].id)).mention_roles == []
