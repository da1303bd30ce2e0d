"""Role pings, forum channels and announcement channels end to end, through the emulator with a fake clock
(reconcile driven directly, as in test_delivery.py)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.delivery import DeliveryPolicy
from bot.discord.client import DigestBot
from bot.render.digest import parse_header, same_message
from bot.store import digests as store
from bot.store import publishing
from bot.store import runs as ledger_runs
from tests.e2e.test_delivery import (
    POST_MESSAGES,
    Crash,
    World,
    crash_once,
    digest,
    eventually,
    ledger,
    only_run,
    reconcile_at,
    utc,
    world,
)
from tests.emulator import Channel, Role
from tests.emulator.state import CROSSPOSTED, GUILD_ANNOUNCEMENT, SEND_MESSAGES, Overwrite

__all__ = ["world"]  # the fixture, shared with test_delivery.py

#: Enough stories that the first run spans several messages.
SEVERAL: dict[str, Any] = {"max_articles": 10, "backlog": 10, "style": "rich"}
FIRST_SLOT = utc(2026, 6, 1, 8, 0, 5)
SECOND_SLOT = utc(2026, 6, 2, 8, 0, 5)


def many_articles(world: World, count: int = 12) -> None:
    """Distinct stories with long excerpts, so a run of ten fills more than one message."""
    for index in range(count):
        excerpt = f"Story {index} in detail. " + "Words that take room in the embed. " * 15
        (world.corpus / f"95{index:02d}_many.txt").write_text(
            f"---\ntitle: \"Distinct development number {index}\"\nexcerpt: \"{excerpt.strip()}\"\n"
            f"webUrl: \"https://example{index}.org/2026/05/31/item\"\n"
            f"publishedDateTime: 2026-05-31T06:00:00Z\nquality: 80\nheat: {index}\n"
            f"provider:\n  name: Outlet {index}\n  domain: example{index}.org\n---\n",
            encoding="utf-8",
        )


def hostile_article(world: World, other_role: Role) -> None:
    """A corpus article whose text tries to ping everyone and another role."""
    (world.corpus / "998_hostile.txt").write_text(
        "---\n"
        f"title: \"@everyone @here look <@&{other_role.id}> now\"\n"
        "excerpt: \"<@&1> and <@2> too\"\n"
        "webUrl: \"https://example.org/2026/05/31/hostile\"\npublishedDateTime: 2026-05-31T07:00:00Z\n"
        "quality: 99\nheat: 99\nprovider:\n  name: Example\n  domain: example.org\n---\n",
        encoding="utf-8",
    )


def newcomer(world: World, key: str) -> None:
    """An article that arrives before the next run (so a later run has something to post)."""
    (world.corpus / f"990_{key}.txt").write_text(
        f"---\ntitle: \"Later news {key}\"\nwebUrl: \"https://example.org/2026/06/01/{key}\"\n"
        "publishedDateTime: 2026-06-01T07:00:00Z\nquality: 90\nheat: 9\n"
        "provider:\n  name: Example\n  domain: example.org\n---\n",
        encoding="utf-8",
    )


async def reload_corpus(bot: DigestBot) -> None:
    async with bot.corpus_gate.reloading():
        await bot.refresh_corpus()


def announcements(world: World) -> list[str]:
    """Each log-channel announcement as text: its content and its embeds' titles and descriptions."""
    return [
        "\n".join([message.content, *(f"{e.get('title', '')}\n{e.get('description', '')}"
                                       for e in message.embeds)])
        for message in world.posted(world.log_channel)
    ]


# --- role pings ---------------------------------------------------------------------------------------


async def test_a_ping_reaches_only_the_chosen_role_once_on_the_first_message(world: World) -> None:
    readers = world.emu.add_role(world.guild, "readers", mentionable=True)
    other = world.emu.add_role(world.guild, "staff", mentionable=True)
    hostile_article(world, other)
    many_articles(world)
    config = world.config(digest("morning", world.channel, **SEVERAL, ping_role=int(readers.id)))
    async with world.bot(config) as bot:
        outcomes = await reconcile_at(world, bot, FIRST_SLOT, "morning")
    assert [o.status for o in outcomes] == ["posted"]
    posted = world.posted()
    assert len(posted) > 1, "the run should span several messages"
    assert [(p.message_id, p.everyone, p.roles, p.users) for p in world.emu.pings] == [
        (posted[0].id, False, (readers.id,), ())
    ]
    assert posted[0].content.endswith(f"\n<@&{readers.id}>")
    assert parse_header(posted[0].content) is not None
    assert all(f"<@&{readers.id}>" not in message.content for message in posted[1:])
    assert "@everyone" not in str([m.embeds for m in posted]) and f"<@&{other.id}>" not in str(
        [m.embeds for m in posted])


@pytest.mark.parametrize("change", ["unmentionable", "deleted"])
async def test_a_role_that_can_no_longer_be_pinged_posts_without_the_ping_and_says_why(
    world: World, change: str
) -> None:
    readers = world.emu.add_role(world.guild, "readers", mentionable=True)
    config = world.config(digest("morning", world.channel, ping_role=int(readers.id)))
    async with world.bot(config) as bot:
        await reconcile_at(world, bot, FIRST_SLOT, "morning")
        assert len(world.emu.pings) == 1
        if change == "unmentionable":
            world.emu.set_role_mentionable(world.guild, readers, False)
        else:
            world.emu.delete_role(world.guild, readers)
        await world.emu.flush_events()

        async def role_changed() -> bool:
            role = bot.get_guild(int(world.guild.id)).get_role(int(readers.id))
            return role is None or not role.mentionable

        await eventually(role_changed)
        newcomer(world, "second")
        await reload_corpus(bot)
        outcomes = await reconcile_at(world, bot, SECOND_SLOT, "morning")
    assert [o.status for o in outcomes] == ["posted"]
    assert len(world.emu.pings) == 1, "the second run must not ping"
    said = announcements(world)
    assert len(said) == 1 and "**morning**" in said[0] and "without its role ping" in said[0]
    assert ("not mentionable" if change == "unmentionable" else "no longer exists") in said[0]


async def test_an_unmentionable_role_is_pinged_when_the_bot_has_mention_everyone(world: World) -> None:
    readers = world.emu.add_role(world.guild, "readers", mentionable=False)
    world.emu.set_channel_overwrite(
        world.channel, Overwrite(world.emu.bot_user.id, 1, allow=1 << 17)
    )
    config = world.config(digest("morning", world.channel, ping_role=int(readers.id)))
    async with world.bot(config) as bot:
        await reconcile_at(world, bot, FIRST_SLOT, "morning")
    assert [p.roles for p in world.emu.pings] == [(readers.id,)]
    assert announcements(world) == []


# --- forum channels -----------------------------------------------------------------------------------


def forum_world(world: World) -> Channel:
    return world.emu.add_forum(world.guild, "news-forum", tags=["Daily", "Tech"])


async def test_a_forum_digest_opens_one_post_per_run_titled_and_tagged(world: World) -> None:
    forum = forum_world(world)
    readers = world.emu.add_role(world.guild, "readers", mentionable=True)
    many_articles(world)
    settings = digest("morning", forum, **SEVERAL, forum_tags=("daily", "Missing"),
                      ping_role=int(readers.id))
    async with world.bot(world.config(settings)) as bot:
        first = await reconcile_at(world, bot, FIRST_SLOT, "morning")
        newcomer(world, "second")
        await reload_corpus(bot)
        second = await reconcile_at(world, bot, SECOND_SLOT, "morning")
        runs = [await ledger_runs.get_run(bot.db, e.run_id) for e in await ledger(bot, "morning")]
    assert [o.status for o in first + second] == ["posted", "posted"]
    posts = world.emu.forum_posts(forum)
    assert [post.name for post in posts] == ["Morning · 2026-06-01", "Morning · 2026-06-02"]
    daily = next(tag["id"] for tag in forum.available_tags if tag["name"] == "Daily")
    assert [post.applied_tags for post in posts] == [[daily], [daily]]
    for post, run in zip(posts, runs, strict=True):
        inside = world.emu.channel_messages(post)
        assert inside[0].id == post.id and run.thread_id == int(post.id)
        assert len(inside) == len(run.messages)
        assert all(same_message(message.planned.payload, posted.payload())
                   for message, posted in zip(run.messages, inside, strict=True))
    assert [p.message_id for p in world.emu.pings] == [posts[0].id, posts[1].id]
    assert sum("'Missing'" in text for text in announcements(world)) == 2


@pytest.mark.parametrize("archived", [False, True], ids=["active-post", "archived-post"])
async def test_a_crash_between_the_forum_post_and_its_record_does_not_post_twice(
    world: World, monkeypatch: pytest.MonkeyPatch, archived: bool
) -> None:
    forum = forum_world(world)
    many_articles(world)
    config = world.config(digest("morning", forum, **SEVERAL))
    async with world.bot(config) as bot:
        crash_once(monkeypatch, "record_sent")
        world.clock.set(FIRST_SLOT)
        with pytest.raises(Crash):
            await world.runner(bot).reconcile("morning")
    assert len(world.emu.forum_posts(forum)) == 1
    world.emu.forum_posts(forum)[0].archived = archived
    world.clock.set(utc(2026, 6, 1, 8, 1))
    async with world.bot(config) as bot:
        run = await only_run(bot, "morning")
    (post,) = world.emu.forum_posts(forum)
    assert run.status == "posted" and run.thread_id == int(post.id)
    assert len(world.emu.channel_messages(post)) == len(run.messages)
    assert len(world.emu.requests_to("POST", rf"/channels/{forum.id}/threads")) == 1


@pytest.mark.parametrize(("status", "code", "words"), [(403, 50013, "missing permissions"),
                                                       (404, 10003, "no longer exists")])
async def test_a_forum_the_bot_cannot_use_pauses_the_digest(
    world: World, status: int, code: int, words: str
) -> None:
    forum = forum_world(world)
    config = world.config(digest("morning", forum))
    async with world.bot(config) as bot:
        world.emu.inject("POST", rf"/channels/{forum.id}/threads", status=status, code=code, times=None)
        outcomes = await reconcile_at(world, bot, FIRST_SLOT, "morning")
        record = await store.get_digest(bot.db, "morning")
    assert [o.status for o in outcomes] == ["paused"]
    assert record is not None and words in (record.paused_reason or "")
    assert world.emu.forum_posts(forum) == []
    said = announcements(world)
    assert len(said) == 1 and words in said[0]


async def test_a_forum_without_send_messages_pauses_the_digest(world: World) -> None:
    forum = forum_world(world)
    bot_role = next(role for role in world.guild.roles.values() if role.managed)
    world.emu.set_channel_overwrite(forum, Overwrite(bot_role.id, 0, deny=SEND_MESSAGES))
    async with world.bot(world.config(digest("morning", forum))) as bot:
        outcomes = await reconcile_at(world, bot, FIRST_SLOT, "morning")
    assert [o.status for o in outcomes] == ["paused"]
    assert world.emu.forum_posts(forum) == []


# --- announcement channels ----------------------------------------------------------------------------


def announcement_world(world: World) -> Channel:
    channel = world.emu.add_channel(world.guild, "announcements", type=GUILD_ANNOUNCEMENT)
    world.emu.clock = lambda: world.clock().timestamp()
    return channel


async def test_an_announcement_digest_publishes_every_message(world: World) -> None:
    channel = announcement_world(world)
    many_articles(world)
    async with world.bot(world.config(digest("morning", channel, **SEVERAL, publish=True))) as bot:
        await reconcile_at(world, bot, FIRST_SLOT, "morning")
        (entry,) = await ledger(bot, "morning")
    posted = world.posted(channel)
    assert len(posted) > 1
    assert all(message.flags & CROSSPOSTED for message in posted)
    assert (entry.published, entry.publish_pending) == (len(posted), 0)


async def test_a_publish_rate_limit_delays_publishing_without_losing_or_repeating(world: World) -> None:
    channel = announcement_world(world)
    world.emu.crosspost_limit = 1
    many_articles(world)
    config = world.config(digest("morning", channel, **SEVERAL, publish=True))
    async with world.bot(config) as bot:
        outcomes = await reconcile_at(world, bot, FIRST_SLOT, "morning")
        (held,) = await ledger(bot, "morning")
        posted = world.posted(channel)
        assert [o.status for o in outcomes] == ["posted"] and held.status == "posted"
        assert len(posted) > 1
        assert [bool(m.flags & CROSSPOSTED) for m in posted] == [True] + [False] * (len(posted) - 1)
        assert (held.published, held.publish_pending) == (1, len(posted) - 1)
        assert held.publish_after is not None and held.publish_after > FIRST_SLOT
        await reconcile_at(world, bot, utc(2026, 6, 1, 8, 30), "morning")
        assert (await ledger(bot, "morning"))[0].publish_pending == len(posted) - 1
        for hour in range(1, len(posted)):
            await reconcile_at(world, bot, utc(2026, 6, 1, 8 + hour, 1), "morning")
        (done,) = await ledger(bot, "morning")
    assert world.posted(channel) == posted, "nothing posted again"
    assert all(m.flags & CROSSPOSTED for m in posted)
    assert (done.published, done.publish_pending) == (len(posted), 0)
    accepted = [r for r in world.emu.requests_to("POST", rf"/channels/{channel.id}/messages/\d+/crosspost")
                if r.status == 200]
    assert len(accepted) == len(posted)
    assert len(world.emu.requests_to("POST", POST_MESSAGES.replace(r"\d+", channel.id))) == len(posted)


async def test_a_publish_whose_record_was_lost_in_a_crash_is_not_repeated(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = announcement_world(world)
    many_articles(world)
    config = world.config(digest("morning", channel, **SEVERAL, publish=True))
    original = publishing.set_result

    async def dying(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(publishing, "set_result", original)
        raise Crash("set_result")

    async with world.bot(config) as bot:
        monkeypatch.setattr(publishing, "set_result", dying)
        world.clock.set(FIRST_SLOT)
        with pytest.raises(Crash):
            await world.runner(bot).reconcile("morning")
    world.clock.set(utc(2026, 6, 1, 8, 1))
    async with world.bot(config) as bot:
        run = await only_run(bot, "morning")
        (entry,) = await ledger(bot, "morning")
    posted = world.posted(channel)
    assert run.status == "posted" and len(posted) == len(run.messages)
    assert all(m.flags & CROSSPOSTED for m in posted)
    assert (entry.published, entry.publish_pending) == (len(posted), 0)
    crossposts = world.emu.requests_to("POST", rf"/channels/{channel.id}/messages/\d+/crosspost")
    assert len([r for r in crossposts if r.status == 200]) == len(posted)
    assert [r.status for r in crossposts].count(400) == 1, "the repeat is answered 'already published'"


async def test_a_crash_between_recording_the_forum_post_and_its_thread_still_fills_the_post(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    forum = forum_world(world)
    many_articles(world)
    config = world.config(digest("morning", forum, **SEVERAL))
    async with world.bot(config) as bot:
        crash_once(monkeypatch, "set_thread")
        world.clock.set(FIRST_SLOT)
        with pytest.raises(Crash):
            await world.runner(bot).reconcile("morning")
    async with world.bot(config) as bot:
        run = await only_run(bot, "morning")
    (post,) = world.emu.forum_posts(forum)
    assert run.status == "posted" and run.thread_id == int(post.id)
    assert len(world.emu.channel_messages(post)) == len(run.messages) > 1


async def test_a_publish_discord_refuses_is_announced_and_not_retried(world: World) -> None:
    channel = announcement_world(world)
    config = world.config(digest("morning", channel, publish=True))
    async with world.bot(config) as bot:
        world.emu.inject("POST", rf"/channels/{channel.id}/messages/\d+/crosspost", status=403, code=50013,
                         times=None)
        outcomes = await reconcile_at(world, bot, FIRST_SLOT, "morning")
        await reconcile_at(world, bot, utc(2026, 6, 1, 9, 0), "morning")
        (entry,) = await ledger(bot, "morning")
    assert [o.status for o in outcomes] == ["posted"]
    assert (entry.published, entry.publish_pending) == (0, 0)
    said = announcements(world)
    assert len(said) == 1 and "could not publish message" in said[0] and "50013" in said[0]
    assert len(world.emu.requests_to("POST", rf"/channels/{channel.id}/messages/\d+/crosspost")) == 1


async def test_a_forum_post_whose_answer_was_lost_is_found_not_opened_twice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    forum = forum_world(world)
    config = world.config(digest("morning", forum))
    async with world.bot(config) as bot:
        world.runner(bot).policy = DeliveryPolicy(sleep=world.no_wait)
        request = bot.http.request
        lost: list[str] = []

        async def answer_lost_once(route: Any, **kwargs: Any) -> Any:
            response = await request(route, **kwargs)
            if route.method == "POST" and route.path.endswith("/threads") and not lost:
                lost.append(response["id"])
                raise aiohttp.ServerDisconnectedError()
            return response

        monkeypatch.setattr(bot.http, "request", answer_lost_once)
        outcomes = await reconcile_at(world, bot, FIRST_SLOT, "morning")
        run = await only_run(bot, "morning")
    assert [o.status for o in outcomes] == ["posted"]
    (post,) = world.emu.forum_posts(forum)
    assert lost == [post.id] and run.thread_id == int(post.id)
    assert len(world.emu.requests_to("POST", rf"/channels/{forum.id}/threads")) == 1


async def test_a_thread_mode_forum_digest_puts_its_story_list_first_in_the_post(world: World) -> None:
    forum = forum_world(world)
    config = world.config(digest("morning", forum, mode="thread"))
    async with world.bot(config) as bot:
        outcomes = await reconcile_at(world, bot, FIRST_SLOT, "morning")
        run = await only_run(bot, "morning")
    assert [o.status for o in outcomes] == ["posted"]
    (post,) = world.emu.forum_posts(forum)
    inside = world.emu.channel_messages(post)
    assert len(inside) == len(run.messages) and inside[0].id == post.id
    assert inside[0].embeds[0]["title"] == "In this digest"
    linked = world.emu.requests_to("PATCH", rf"/channels/{post.id}/messages/{post.id}")
    assert [request.status for request in linked] == [200]
    assert f"/{post.id}/{inside[1].id}" in inside[0].embeds[0]["description"]
