"""`/admin digest create|edit` with the settings server admins bring from other news bots: a role ping,
exclusions, forum and announcement channels, a footer — and `/digest preview|explain` showing them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.store import digests as store
from tests.e2e.test_admin_digests import Scene, scene, text_of, write_article
from tests.emulator import Role
from tests.emulator.state import GUILD_ANNOUNCEMENT, MENTION_EVERYONE, Overwrite

__all__ = ["scene"]  # the fixture, shared with test_admin_digests.py

SLOT = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)


def article_id(number: int) -> str:
    return f"{0xD00 + number:016x}"


def write_sponsored(folder: Path, number: int) -> None:
    """A harbour article whose title says it is sponsored."""
    write_article(folder, number)
    path = next(folder.glob(f"{number:03d}_*.txt"))
    text = path.read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n")[1])
    front["title"] = f"Sponsored: harbour cruises, number {number}"
    path.write_text("---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n", encoding="utf-8")


async def explain(scene: Scene, name: str, number: int) -> str:
    result = await scene.emu.invoke("digest explain", user=scene.plain, guild=scene.guild,
                                    options={"name": name, "article_id": article_id(number)})
    return text_of(result)


def readers(scene: Scene, *, mentionable: bool = True) -> Role:
    return scene.emu.add_role(scene.guild, "readers", mentionable=mentionable)


# --- the role ping ------------------------------------------------------------------------------------


async def test_a_mentionable_role_is_set_shown_in_preview_and_explain_and_pinged_once(scene: Scene) -> None:
    role = readers(scene)
    result = await scene.create(ping_role=role)
    assert f"Role ping: <@&{role.id}>" in text_of(result)
    [preview] = result.followups
    assert "Pings @readers once per run" in preview.content
    shown = await scene.emu.invoke("digest preview", user=scene.plain, guild=scene.guild,
                                   options={"name": "harbour"})
    assert "Pings @readers once per run" in (shown.content or "")
    assert f"Pings <@&{role.id}>" in await explain(scene, "harbour", 1)
    await scene.reach(SLOT)
    posted = scene.posted()
    assert posted and posted[0].endswith(f"<@&{role.id}>")
    assert [(p.channel_id, p.roles) for p in scene.emu.pings] == [(scene.news.id, (role.id,))]


@pytest.mark.parametrize(("who", "words"), [("nobody", "you lack Mention Everyone"),
                                            ("admin", "I lack Mention Everyone")])
async def test_a_role_the_admin_or_the_bot_could_not_ping_is_refused(
    scene: Scene, who: str, words: str
) -> None:
    role = readers(scene, mentionable=False)
    if who == "admin":
        scene.emu.set_channel_overwrite(scene.news, Overwrite(scene.admin.user.id, 1, allow=MENTION_EVERYONE))
        await scene.emu.flush_events()
    result = await scene.create(ping_role=role)
    reply = text_of(result)
    assert "Not created" in reply and "not mentionable" in reply and words in reply
    assert await store.get_digest(scene.bot.db, scene.key("harbour")) is None


async def test_everyone_is_never_a_digests_ping_and_turns_the_ping_off(scene: Scene) -> None:
    created = await scene.create(ping_role=scene.guild.everyone)
    assert "Role ping: none" in text_of(created)
    role = readers(scene)
    await scene.run("edit", name="harbour", ping_role=role)
    result = await scene.run("edit", name="harbour", ping_role=scene.guild.everyone)
    assert f"Role ping: <@&{role.id}> → none" in text_of(result)
    record = await store.get_digest(scene.bot.db, scene.key("harbour"))
    assert record is not None and record.settings.ping_role is None


# --- exclusions ---------------------------------------------------------------------------------------


async def test_explain_names_the_exclusion_that_left_an_article_out(scene: Scene) -> None:
    write_sponsored(scene.corpus, 7)
    await scene.bot.refresh_corpus()
    result = await scene.create(exclude_keywords="sponsored, paid content", topics="maritime", backlog=10)
    assert "Excluded keywords: sponsored, paid content" in text_of(result)
    assert "excluded by keyword 'sponsored'" in await explain(scene, "harbour", 7)
    assert "leads story" in await explain(scene, "harbour", 1)
    await scene.create(name="no-harbour", exclude_providers="harbourpost.example")
    assert "excluded by provider 'harbourpost.example'" in await explain(scene, "no-harbour", 1)
    await scene.create(name="no-sea", topics="maritime", exclude_topics="Maritime")
    assert "excluded by topic 'Maritime'" in await explain(scene, "no-sea", 1)
    await scene.reach(SLOT)
    assert all("Sponsored" not in str(message.embeds) for message in scene.emu.channel_messages(scene.news))


# --- forum and announcement channels ------------------------------------------------------------------


async def test_a_forum_digest_checks_its_tags_and_posts_one_post(scene: Scene) -> None:
    forum = scene.emu.add_forum(scene.guild, "harbour-forum", tags=["Daily", "Weekly"])
    await scene.emu.flush_events()
    refused = await scene.create(channel=forum, forum_tags="Hourly")
    assert "has no tag 'Hourly'" in text_of(refused) and "Daily, Weekly" in text_of(refused)
    created = await scene.create(channel=forum, forum_tags="daily", footer="From the harbour desk")
    assert "Forum tags: daily" in text_of(created)
    await scene.reach(SLOT)
    (post,) = scene.emu.forum_posts(forum)
    assert post.name == "Harbour · 2026-03-02"
    assert post.applied_tags == [forum.available_tags[0]["id"]]
    messages = scene.emu.channel_messages(post)
    assert messages and all(
        embed["footer"]["text"] == "From the harbour desk" for m in messages for embed in m.embeds
    )


async def test_publish_needs_an_announcement_channel(scene: Scene) -> None:
    refused = await scene.create(publish=True)
    assert "works only in an announcement channel" in text_of(refused)
    announcements = scene.emu.add_channel(scene.guild, "announcements", type=GUILD_ANNOUNCEMENT)
    await scene.emu.flush_events()
    created = await scene.create(channel=announcements, publish=True)
    assert "Publish (announcement channels): yes" in text_of(created)
    await scene.reach(SLOT)
    posted = scene.emu.channel_messages(announcements)
    assert posted and all(message.flags & 1 for message in posted)


async def test_forum_tags_outside_a_forum_and_an_overlong_footer_are_refused(scene: Scene) -> None:
    tags = await scene.create(forum_tags="Daily")
    assert "apply to forum channels only" in text_of(tags)
    with pytest.raises(ValueError, match="length"):
        await scene.create(footer="x" * 201)


async def test_the_delivery_log_reports_publishing_held_back_by_discords_limit(scene: Scene) -> None:
    scene.emu.crosspost_limit = 1
    announcements = scene.emu.add_channel(scene.guild, "announcements", type=GUILD_ANNOUNCEMENT)
    await scene.emu.flush_events()
    # Each digest has articles of its own: a channel never gets an article twice, so with shared ones the
    # digest composed second could find nothing left to post.
    await scene.create(channel=announcements, publish=True, keywords="part 0, part 1")
    await scene.create(name="harbour-too", channel=announcements, publish=True, keywords="part 2, part 3")
    await scene.reach(SLOT)
    first = text_of(await scene.run("log", name="harbour"))
    second = text_of(await scene.run("log", name="harbour-too"))
    published = [bool(message.flags & 1) for message in scene.emu.channel_messages(announcements)]
    assert sorted(published) == [False, True]
    done, held = (first, second) if "published 1/1" in first else (second, first)
    assert "published 1/1" in done and "delayed" not in done
    assert "published 0/1" in held
    assert "publishing delayed by Discord's rate limit (10 an hour per channel): 1 message(s) wait" in held


async def test_excluded_keywords_meet_the_operators_keyword_limits(scene: Scene) -> None:
    too_many = ", ".join(f"word{number}" for number in range(11))
    refused = await scene.create(exclude_keywords=too_many)
    assert "`exclude_keywords`: 11 given; a digest may have at most 10." in text_of(refused)
    assert await store.get_digest(scene.bot.db, scene.key("harbour")) is None
