"""The lookup commands end to end: the real bot, a corpus folder on disk, members acting through the emulator.

All shown through the emulator, which also fails a test on any payload that breaks Discord's limits or
allows a mention."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.clock import FakeClock
from bot.config import Config, CorpusConfig, DatabaseConfig, DiscordConfig, LookupsConfig
from bot.discord.client import DigestBot, create_bot
from bot.render.text import ZERO_WIDTH_SPACE
from tests.emulator import Emulator, Guild, InteractionResult, Member, Message, running_bot

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
BASE_DAY = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)

LIGHTHOUSES = 12
MANY_TOPICS = 30
HOSTILE_ID = "00000000000000e1"
HUGE_ID = "00000000000000f1"
HOSTILE_TITLE = (
    "@everyone **Breaking** <@&123> __now__ ||spoiler|| [click](https://evil.example) `code` <@456>"
)


# --- the corpus


def _write(folder: Path, number: int, article_id: str, front: dict[str, Any]) -> None:
    text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n"
    (folder / f"{number:03d}_{article_id}.txt").write_text(text, encoding="utf-8")


def _article(title: str, slug: str, day: int, **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "webUrl": f"https://news.example/{slug}",
        "publishedDateTime": (BASE_DAY + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }


def lighthouse_id(index: int) -> str:
    return f"{0xA00 + index:016x}"


def build_corpus(folder: Path) -> None:
    """Twelve lighthouse articles (three pages), 30+ topics, a hostile and a huge article, a broken file."""
    folder.mkdir()
    number = 0
    for index in range(LIGHTHOUSES):
        outlet = "Harbour Post" if index % 2 == 0 else "Coastal Times"
        _write(folder, number, lighthouse_id(index), _article(
            f"Lighthouse keeper story {index}", f"lighthouse-{index}", day=index,
            excerpt=f"The old lighthouse on the cape, part {index}, guides ships at night.",
            quality=40 + index, heat=index % 3,
            provider={"name": outlet, "domain": f"{outlet.lower().replace(' ', '')}.example"},
            topics=["Maritime", "Quantum Lighthouses" if index < 3 else "History"],
        ))
        number += 1
    for index in range(MANY_TOPICS):
        _write(folder, number, f"{0xB00 + index:016x}", _article(
            f"Topic sampler {index}", f"sampler-{index}", day=index % 20,
            excerpt="An article that exists to carry a topic.", quality=10, heat=0,
            provider={"name": f"Outlet {index:02d}", "domain": f"outlet{index:02d}.example"},
            topics=[f"Subject {index:02d}", "Quantum computing" if index == 0 else f"Area {index % 5}"],
        ))
        number += 1
    # Same quality as each other, so heat decides their order in /top.
    for index, heat in enumerate((5, 50)):
        _write(folder, number, f"{0xC00 + index:016x}", _article(
            f"Tie breaker {index}", f"tie-{index}", day=20, quality=99, heat=heat,
            provider={"name": "Harbour Post", "domain": "harbourpost.example"},
        ))
        number += 1
    _write(folder, number, HOSTILE_ID, _article(
        HOSTILE_TITLE, "hostile", day=25,
        excerpt="Hello @here and <#789>: > quoted **bold** ~~gone~~ mayday",
        quality=55, heat=1, provider={"name": "@everyone Gazette", "domain": "gazette.example"},
        topics=["<@&123> topic"],
        related=[{"title": "@everyone related <@&123>", "webUrl": "https://other.example/r",
                  "provider": {"name": "Other"}, "quality": 10}],
    ))
    number += 1
    (folder / "broken.txt").write_text("---\nwebUrl: https://news.example/broken\n---\n", encoding="utf-8")
    _write(folder, number, HUGE_ID, _article(
        "Gigantic report on harbours", "huge", day=26,
        excerpt=" ".join(["harbour"] * 3750),  # 30,000 characters
        quality=70, heat=3, provider={"name": "Harbour Post", "domain": "harbourpost.example"},
        images=[{"url": "https://img.example/huge.jpg", "width": 640, "height": 480}],
        topics=["Maritime"],
        related=[
            {"title": f"Related harbour coverage number {index} " + "x" * 80,
             "webUrl": f"https://related{index}.example/story/{index}",
             "publishedDateTime": "2024-05-20T10:00:00Z",
             "provider": {"name": f"Related outlet {index}"}, "quality": index}
            for index in range(40)
        ],
    ))


# --- the running bot


@dataclass
class Scene:
    emu: Emulator
    bot: DigestBot
    clock: FakeClock
    guild: Guild
    alice: Member
    bob: Member

    async def run(self, command: str, *, user: Member | None = None, **options: Any) -> InteractionResult:
        result = await self.emu.invoke(command, user=user or self.alice, guild=self.guild, options=options)
        assert result.answered and not result.errors, result.errors
        return result

    def configure_lookups(self, **settings: Any) -> None:
        """A configuration reload, as the runtime does it: the bot's config object is replaced."""
        lookups = dataclasses.replace(self.bot.config.lookups, **settings)
        self.bot.config = dataclasses.replace(self.bot.config, lookups=lookups)


@pytest.fixture
async def scene(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Scene]:
    corpus = tmp_path / "corpus"
    build_corpus(corpus)
    guild = emulator.add_guild("harbour")
    alice = emulator.add_member(guild)
    bob = emulator.add_member(guild)
    config = Config(
        corpus=CorpusConfig(path=corpus),
        database=DatabaseConfig(path=tmp_path / "data" / "digestbot.sqlite3"),
        discord=DiscordConfig(guild_ids=(int(guild.id),)),
        lookups=LookupsConfig(cooldown_uses=0),
    )
    clock = FakeClock(NOW)
    async with running_bot(create_bot(config, clock=clock), emulator) as bot:
        assert bot.failed_extensions == {}
        yield Scene(emulator, bot, clock, guild, alice, bob)


# --- reading what members see


def only_embed(result: InteractionResult | Message) -> dict[str, Any]:
    embeds = result.embeds
    assert len(embeds) == 1, embeds
    return embeds[0]


def text_of(embed: dict[str, Any]) -> str:
    footer = (embed.get("footer") or {}).get("text", "")
    parts = [embed.get("title") or "", embed.get("description") or "", footer]
    parts += [f"{field['name']}\n{field['value']}" for field in embed.get("fields") or ()]
    return "\n".join(parts)


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    """The message's buttons by label."""
    found = {}
    for row in message.components:
        for item in row.get("components", []):
            if item.get("type") == 2:
                found[item["label"]] = item
    return found


def article_menu(shown: InteractionResult | Message) -> dict[str, Any] | None:
    """The page's "Open an article…" select menu, if it has one."""
    for row in shown.components:
        for item in row.get("components", []):
            if item.get("type") == 3:
                return item
    return None


def ids_shown(shown: InteractionResult | Message) -> list[str]:
    """Article ids in the order a list or result page shows them (its menu's values, in order)."""
    menu = article_menu(shown)
    return [] if menu is None else [option["value"] for option in menu["options"]]


async def click(
    scene: Scene, message: Message, label: str, *, user: Member | None = None
) -> InteractionResult:
    result = await scene.emu.click(message, buttons(message)[label]["custom_id"], user=user or scene.alice)
    assert result.answered and not result.errors, result.errors
    return result


# --- /search


async def test_search_pages_through_ranked_results(scene: Scene) -> None:
    result = await scene.run("search", query="lighthouse")
    assert result.ephemeral
    page = only_embed(result)
    assert "lighthouse" in page["title"]
    assert page["footer"]["text"].startswith(f"Page 1/3 · {LIGHTHOUSES} results")
    assert "**lighthouse**" in page["description"].lower()
    first_ids = ids_shown(result)
    assert len(first_ids) == 5 and set(first_ids) <= {lighthouse_id(i) for i in range(LIGHTHOUSES)}
    controls = buttons(result.message)
    assert controls["Previous"].get("disabled") and not controls["Next"].get("disabled")
    assert controls["1/3"]["disabled"]

    second = await click(scene, result.message, "Next")
    assert second.message.id == result.message.id
    second_page = only_embed(second.message)
    second_ids = ids_shown(second.message)
    assert second_page["footer"]["text"].startswith("Page 2/3")
    assert len(second_ids) == 5 and not set(second_ids) & set(first_ids)
    assert "2/3" in buttons(second.message) and not buttons(second.message)["Previous"].get("disabled")

    third = await click(scene, second.message, "Next")
    assert only_embed(third.message)["footer"]["text"].startswith("Page 3/3")
    third_ids = ids_shown(third.message)
    assert len(third_ids) == 2
    assert buttons(third.message)["Next"].get("disabled")
    shown = first_ids + second_ids + third_ids
    assert sorted(shown) == sorted(lighthouse_id(i) for i in range(LIGHTHOUSES))

    back = await click(scene, third.message, "Previous")
    assert only_embed(back.message)["footer"]["text"].startswith("Page 2/3")
    assert ids_shown(back.message) == second_ids


async def test_another_member_cannot_turn_the_pages(scene: Scene) -> None:
    result = await scene.run("search", query="lighthouse", public=True)
    before = [dict(embed) for embed in result.message.embeds], list(result.message.components)

    refused = await click(scene, result.message, "Next", user=scene.bob)
    assert refused.ephemeral and refused.message.id != result.message.id
    assert "Only the person who searched can page" in only_embed(refused)["description"]
    message = scene.emu.world.messages[result.message.id]
    assert (message.embeds, message.components) == before
    assert message.edited_timestamp is None

    turned = await click(scene, result.message, "Next")
    assert only_embed(turned.message)["footer"]["text"].startswith("Page 2/3")


async def test_buttons_disable_when_the_paginator_times_out(scene: Scene) -> None:
    scene.bot.get_cog("Lookups").paginator_timeout = 0.2
    result = await scene.run("search", query="lighthouse")
    message = scene.emu.world.messages[result.message.id]
    assert not buttons(message)["Next"].get("disabled")
    for _ in range(100):
        if all(button.get("disabled") for button in buttons(message).values()):
            break
        await asyncio.sleep(0.05)
    assert all(button.get("disabled") for button in buttons(message).values())
    assert only_embed(message)["footer"]["text"].startswith("Page 1/3")


async def test_a_single_page_has_no_buttons_only_its_menu(scene: Scene) -> None:
    result = await scene.run("search", query="gigantic")
    assert ids_shown(result) == [HUGE_ID]
    assert buttons(result.message) == {}
    menu = article_menu(result)
    assert menu is not None and menu["placeholder"] == "Open an article…"


async def test_a_result_reads_like_a_search_engine(scene: Scene) -> None:
    result = await scene.run("search", query="cape", provider="Harbour Post", min_quality=50)
    block = only_embed(result)["description"].split("\n\n")[0]
    stamp = f"<t:{int((BASE_DAY + timedelta(days=10)).timestamp())}:d>"
    assert block == (
        "**[Lighthouse keeper story 10](https://news.example/lighthouse-10)**\n"
        f"Harbour Post · {stamp}\n"
        "The old lighthouse on the **cape**, part 10, guides ships at night."
    )
    assert ids_shown(result) == [lighthouse_id(10)]
    assert article_menu(result)["options"][0] == {
        "label": "Lighthouse keeper story 10", "value": lighthouse_id(10),
        "description": "Harbour Post · 11 May 2024", "default": False,
    }


async def test_the_menu_opens_the_article_for_whoever_picks_it(scene: Scene) -> None:
    result = await scene.run("search", query="lighthouse", public=True)
    menu = article_menu(result)
    assert menu is not None
    picked = ids_shown(result)[1]
    for member in (scene.alice, scene.bob):
        opened = await scene.emu.click(result.message, menu["custom_id"], user=member, values=[picked])
        assert opened.answered and not opened.errors, opened.errors
        assert opened.ephemeral and opened.message.id != result.message.id
        embed = only_embed(opened)
        assert embed["footer"]["text"] == f"ID {picked} · /article"
        assert embed["title"].startswith("Lighthouse keeper story")
    assert scene.emu.world.messages[result.message.id].edited_timestamp is None


async def test_a_common_word_offers_ten_pages_not_hundreds(scene: Scene) -> None:
    scene.configure_lookups(page_size=2)
    result = await scene.run("search", query="article")
    footer = only_embed(result)["footer"]["text"]
    assert footer == "Page 1/10 · 30 results · the best 20 shown · add words to narrow"
    assert "1/10" in buttons(result.message)
    latest = await scene.run("latest")
    assert only_embed(latest)["footer"]["text"] == "Page 1/10 · more than 20 articles · the newest 20 shown"


async def test_search_filters_narrow_the_results(scene: Scene) -> None:
    async def found(**filters: Any) -> set[str]:
        result = await scene.run("search", query="lighthouse", **filters)
        if "No articles match" in (only_embed(result).get("description") or ""):
            return set()
        ids = set(ids_shown(result))
        message = result.message
        while buttons(message) and not buttons(message)["Next"].get("disabled"):
            message = (await click(scene, message, "Next")).message
            ids |= set(ids_shown(message))
        return ids

    every = {lighthouse_id(i) for i in range(LIGHTHOUSES)}
    assert await found() == every
    assert await found(topic="quantum lighthouses") == {lighthouse_id(i) for i in range(3)}
    assert await found(provider="coastal times") == {lighthouse_id(i) for i in range(1, LIGHTHOUSES, 2)}
    assert await found(min_quality=50) == {lighthouse_id(i) for i in range(10, LIGHTHOUSES)}
    assert await found(since="2024-05-10") == {lighthouse_id(i) for i in range(9, LIGHTHOUSES)}
    assert await found(until="2024-05-02") == {lighthouse_id(i) for i in range(2)}
    assert await found(since="2024-05-03", until="2024-05-03", min_quality=0) == {lighthouse_id(2)}


async def test_bad_dates_are_refused_clearly(scene: Scene) -> None:
    for value in ("2024-13-01", "31-05-2024", "2024-02-30", "2024/05/01"):
        result = await scene.run("search", query="lighthouse", since=value)
        assert result.ephemeral
        text = only_embed(result)["description"]
        assert f"`{value}` is not a" in text, text
    reversed_range = await scene.run("search", query="lighthouse", since="2024-05-10", until="2024-05-01")
    assert reversed_range.ephemeral
    assert "is after `until`" in only_embed(reversed_range)["description"]


async def test_no_results_get_a_hint(scene: Scene) -> None:
    plain = await scene.run("search", query="zeppelin")
    text = only_embed(plain)["description"]
    assert "No articles match **zeppelin**" in text and "spelling" in text
    filtered = await scene.run("search", query="lighthouse", topic="Subject 07", min_quality=90)
    text = only_embed(filtered)["description"]
    assert "dropping a filter" in text and "topic Subject 07" in text


@pytest.mark.parametrize(
    "query",
    ['"', "AND", "C++", "(", "lighthouse AND (", 'lighthouse "', "x" * 200, "NEAR(lighthouse cape)",
     "title:lighthouse", "-lighthouse", "*", "lighthouse*", "@everyone <@&123>"],
)
async def test_hostile_queries_get_answers(scene: Scene, query: str) -> None:
    result = await scene.run("search", query=query)
    assert result.ephemeral
    embed = only_embed(result)
    assert embed.get("description") or embed.get("title")
    assert "@everyone" not in text_of(embed)
    assert "<@&123>" not in text_of(embed)


async def test_punctuation_only_query_is_explained(scene: Scene) -> None:
    for query in ('"', "(", "*", " - "):
        result = await scene.run("search", query=query)
        assert "no words to search for" in only_embed(result)["description"]


async def test_operators_are_searched_as_words(scene: Scene) -> None:
    for query in ("lighthouse (", '"lighthouse', "lighthouse)", "LIGHTHOUSE*"):
        result = await scene.run("search", query=query)
        assert only_embed(result)["footer"]["text"].startswith(f"Page 1/3 · {LIGHTHOUSES} results"), query
    both = await scene.run("search", query="lighthouse AND ships")
    assert only_embed(both)["description"].startswith("No articles match")


# --- autocomplete


async def test_topic_autocomplete_matches_and_caps_at_25(scene: Scene) -> None:
    everything = await scene.emu.autocomplete("search", focused="topic", value="", user=scene.alice,
                                              guild=scene.guild, options={"query": "x"})
    assert len(everything) == 25
    quantum = await scene.emu.autocomplete("search", focused="topic", value="QUANT", user=scene.alice,
                                           guild=scene.guild, options={"query": "x"})
    assert {choice["value"] for choice in quantum} == {"Quantum computing", "Quantum Lighthouses"}
    assert all(choice["name"] == choice["value"] for choice in quantum)
    subjects = await scene.emu.autocomplete("latest", focused="topic", value="subject", user=scene.alice,
                                            guild=scene.guild)
    assert len(subjects) == 25 and all(choice["value"].startswith("Subject") for choice in subjects)
    nothing = await scene.emu.autocomplete("top", focused="topic", value="zzz", user=scene.alice,
                                           guild=scene.guild)
    assert nothing == []


async def test_provider_autocomplete_matches_names_and_domains(scene: Scene) -> None:
    everything = await scene.emu.autocomplete("search", focused="provider", value="", user=scene.alice,
                                              guild=scene.guild, options={"query": "x"})
    assert len(everything) == 25
    coastal = await scene.emu.autocomplete("search", focused="provider", value="coast", user=scene.alice,
                                           guild=scene.guild, options={"query": "x"})
    assert [choice["value"] for choice in coastal] == ["Coastal Times"]
    by_domain = await scene.emu.autocomplete("search", focused="provider", value="HARBOURPOST.ex",
                                             user=scene.alice, guild=scene.guild, options={"query": "x"})
    assert [choice["value"] for choice in by_domain] == ["Harbour Post"]


async def test_article_autocomplete_offers_titles_with_ids(scene: Scene) -> None:
    choices = await scene.emu.autocomplete("article", focused="id", value="gigantic harb", user=scene.alice,
                                           guild=scene.guild)
    assert choices == [{"name": "Gigantic report on harbours", "value": HUGE_ID}]
    keepers = await scene.emu.autocomplete("article", focused="id", value="Lighthouse keeper",
                                           user=scene.alice, guild=scene.guild)
    assert len(keepers) == LIGHTHOUSES
    assert {choice["value"] for choice in keepers} == {lighthouse_id(i) for i in range(LIGHTHOUSES)}
    anything = await scene.emu.autocomplete("article", focused="id", value="", user=scene.alice,
                                            guild=scene.guild)
    assert len(anything) == 25 and all(1 <= len(choice["name"]) <= 100 for choice in anything)


# --- /article


async def test_article_shows_the_embed_with_related_coverage(scene: Scene) -> None:
    result = await scene.run("article", id=lighthouse_id(4))
    assert result.ephemeral
    embed = only_embed(result)
    assert embed["title"] == "Lighthouse keeper story 4"
    assert embed["url"] == "https://news.example/lighthouse-4"
    assert embed["author"]["name"] == "Harbour Post"
    assert f"ID {lighthouse_id(4)}" in embed["footer"]["text"]
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Rating"] == "Fair quality"
    assert fields["Published"].startswith("<t:")


async def test_article_ids_are_found_in_any_letter_case(scene: Scene) -> None:
    upper = await scene.run("article", id=f"  {lighthouse_id(4).upper()} ")
    assert only_embed(upper)["footer"]["text"] == f"ID {lighthouse_id(4)} · /article"
    choices = await scene.emu.autocomplete("article", focused="id", value=HUGE_ID.upper(), user=scene.alice,
                                           guild=scene.guild)
    assert choices[0]["value"] == HUGE_ID


async def test_unknown_article_id_gets_a_friendly_reply(scene: Scene) -> None:
    result = await scene.run("article", id="does-not-exist", public=True)
    assert result.ephemeral
    text = only_embed(result)["description"]
    assert "No article has the id `does-not-exist`" in text and "/search" in text


async def test_hostile_article_is_escaped_and_pings_nobody(scene: Scene) -> None:
    shown = [only_embed(await scene.run("article", id=HOSTILE_ID, public=True))]
    shown.append(only_embed(await scene.run("search", query="mayday")))
    shown.append(only_embed(await scene.run("latest")))
    for embed in shown:
        text = text_of(embed) + (embed.get("author") or {}).get("name", "")
        assert "@everyone" not in text and "@here" not in text
        assert "<@&123>" not in text and "<@456>" not in text and "<#789>" not in text
        assert f"@{ZERO_WIDTH_SPACE}everyone" in text
    article = shown[0]
    assert "\\*\\*Breaking\\*\\*" in article["title"] and "\\|\\|spoiler\\|\\|" in article["title"]
    assert "\\[click\\]\\(https://evil.example\\)" in article["title"]
    assert "\\~\\~gone\\~\\~" in article["description"]
    related = next(field["value"] for field in article["fields"] if field["name"] == "Related coverage")
    assert f"@{ZERO_WIDTH_SPACE}everyone related <{ZERO_WIDTH_SPACE}@&123>" in related
    sent = 0
    for request in scene.emu.requests:
        body = request.json if isinstance(request.json, dict) else {}
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        if "embeds" in data or "content" in data:
            sent += 1
            assert data.get("allowed_mentions", {}).get("parse") == [], request
    assert sent >= len(shown)


async def test_huge_article_stays_within_every_limit(scene: Scene) -> None:
    result = await scene.run("article", id=HUGE_ID, public=True)
    embed = only_embed(result)
    assert sum(len(part) for part in text_of(embed).split("\n")) <= 6000
    assert len(embed["description"]) <= 4096 and embed["description"].endswith("…")
    related = next(field["value"] for field in embed["fields"] if field["name"] == "Related coverage")
    assert len(related) <= 1024
    assert related.splitlines()[0].startswith("[Related harbour coverage number 39")
    assert related.splitlines()[-1].endswith("more") and related.splitlines()[-1].startswith("+")
    assert embed["thumbnail"]["url"] == "https://img.example/huge.jpg"


# --- public on and off


async def test_public_posts_in_the_channel_and_private_does_not(scene: Scene) -> None:
    channel_id = next(iter(scene.guild.channels))
    private = await scene.run("article", id=lighthouse_id(1))
    assert private.ephemeral
    assert scene.emu.world.channel_messages(channel_id) == []
    for command, options in [("article", {"id": lighthouse_id(1)}), ("search", {"query": "lighthouse"}),
                             ("latest", {}), ("top", {}), ("topics", {}), ("providers", {}), ("stats", {})]:
        public = await scene.run(command, public=True, **options)
        assert not public.ephemeral, command
        assert public.message in scene.emu.world.channel_messages(channel_id)
        hidden = await scene.run(command, **options)
        assert hidden.ephemeral, command


# --- cooldown


async def test_cooldown_follows_the_live_configuration(scene: Scene) -> None:
    for _ in range(5):
        await scene.run("article", id=lighthouse_id(0))
    scene.configure_lookups(cooldown_uses=2, cooldown_seconds=30)
    await scene.run("search", query="lighthouse")
    await scene.run("search", query="lighthouse")
    refused = await scene.run("search", query="lighthouse")
    assert refused.ephemeral
    assert "Try again in 30 s" in only_embed(refused)["description"]
    other = await scene.run("search", query="lighthouse", user=scene.bob)
    assert "results" in only_embed(other)["footer"]["text"]

    scene.clock.advance(seconds=12)
    again = await scene.run("search", query="lighthouse")
    assert "Try again in 18 s" in only_embed(again)["description"]
    scene.clock.advance(seconds=19)
    allowed = await scene.run("search", query="lighthouse")
    assert "results" in only_embed(allowed)["footer"]["text"]

    scene.configure_lookups(cooldown_uses=0)
    for _ in range(5):
        assert "Try again" not in text_of(only_embed(await scene.run("article", id=lighthouse_id(0))))


# --- lists and statistics


ARTICLES = LIGHTHOUSES + MANY_TOPICS + 4


async def test_latest_lists_newest_first_and_pages_like_search(scene: Scene) -> None:
    result = await scene.run("latest")
    embed = only_embed(result)
    assert embed["title"] == "Latest articles"
    assert embed["footer"]["text"] == f"Page 1/10 · {ARTICLES} articles"
    assert ids_shown(result)[:2] == [HUGE_ID, HOSTILE_ID]
    assert len(ids_shown(result)) == 5 == embed["description"].count("\n\n") + 1
    first_ids = ids_shown(result)
    second = await click(scene, result.message, "Next")
    assert only_embed(second.message)["footer"]["text"].startswith("Page 2/10")
    assert len(ids_shown(second.message)) == 5 and not set(ids_shown(second.message)) & set(first_ids)
    maritime = await scene.run("latest", topic="maritime")
    assert ids_shown(maritime)[:3] == [HUGE_ID, lighthouse_id(11), lighthouse_id(10)]
    empty = only_embed(await scene.run("latest", topic="no such topic"))
    assert "No articles for topic no such topic" in empty["description"]


async def test_top_orders_by_quality_then_heat(scene: Scene) -> None:
    result = await scene.run("top")
    assert ids_shown(result)[:3] == [f"{0xC01:016x}", f"{0xC00:016x}", HUGE_ID]
    assert only_embed(result)["description"].split("\n\n")[0].endswith(" · Excellent quality")
    recent_result = await scene.run("top", days=10, topic="Maritime")
    recent = only_embed(recent_result)
    assert ids_shown(recent_result) == [HUGE_ID]
    assert buttons(recent_result.message) == {}, "a single page has a menu and no page buttons"
    assert recent["title"] == "Top articles: topic Maritime · last 10 days"
    none = only_embed(await scene.run("top", days=1))
    assert "more days" in none["description"]


async def test_topics_and_providers_are_counted_and_paged(scene: Scene) -> None:
    topics = await scene.run("topics")
    first = only_embed(topics)
    assert first["title"] == "Topics" and first["footer"]["text"] == "Page 1/2"
    assert first["description"].splitlines()[0] == "Maritime — **13**"
    second = await click(scene, topics.message, "Next")
    assert only_embed(second.message)["footer"]["text"] == "Page 2/2"
    refused = await click(scene, topics.message, "Previous", user=scene.bob)
    assert "Only the person who asked" in only_embed(refused)["description"]

    providers = only_embed(await scene.run("providers"))
    assert providers["description"].splitlines()[0] == "Harbour Post — **9**"
    assert "Coastal Times — **6**" in providers["description"]


async def test_stats_summarise_the_corpus(scene: Scene) -> None:
    embed = only_embed(await scene.run("stats"))
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    total = LIGHTHOUSES + MANY_TOPICS + 4
    assert fields["Articles"] == str(total)
    assert "Date range" in fields and "Last load" in fields
    assert fields["Rejected files (1)"] == "broken.txt: title: missing"


async def test_stats_never_show_the_value_of_a_rejected_field(scene: Scene) -> None:
    (scene.bot.config.corpus.path / "tagged.md").write_text(
        "---\ntitle: Tagged\nwebUrl: https://example.com/tagged\npublishedDateTime: 2024-01-02T00:00:00Z\n"
        "secured: !SECRETTAG\n---\n",
        encoding="utf-8",
    )
    await scene.bot.refresh_corpus()
    embed = only_embed(await scene.run("stats"))
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert "tagged.md: line 5: unsupported YAML tag" in fields["Rejected files (2)"]
    assert "SECRETTAG" not in json.dumps(embed)


# --- slow answers


async def test_slow_answers_defer_then_edit(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.discord.ui.replies.DEFER_AFTER_SECONDS", 0)
    result = await scene.run("search", query="lighthouse", public=True)
    assert result.deferred and not result.ephemeral
    assert only_embed(result)["footer"]["text"].startswith("Page 1/3")
    turned = await click(scene, result.message, "Next")
    assert turned.deferred and turned.message.id == result.message.id
    assert only_embed(turned.message)["footer"]["text"].startswith("Page 2/3")
    article = await scene.run("article", id=HUGE_ID)
    assert article.deferred and article.ephemeral
    assert only_embed(article)["title"] == "Gigantic report on harbours"
    stats = await scene.run("stats")
    assert stats.deferred and "Articles" in text_of(only_embed(stats))


# --- the worst case


async def test_the_worst_case_article_fits_every_limit_and_midnight_counts_for_since(scene: Scene) -> None:
    """The longest title, provider and topics, 10 related entries with long titles, a 5,000-character
    excerpt without spaces, published at exactly 00:00 UTC: /article, search pages, lists and the menu all
    pass the emulator's limit checks and Discord's OpenAPI schema."""
    from bot.store.loader import load_corpus

    worst_id = "00000000000000ff"
    _write(scene.bot.config.corpus.path, 99, worst_id, {
        "title": "Zanzibar " + "W" * 3000,
        "webUrl": "https://news.example/" + "u" * 1900,
        "publishedDateTime": "2024-05-31T00:00:00Z",
        "excerpt": "x" * 5000,
        "quality": 100, "heat": 5000,
        "provider": {"name": "P" * 500, "domain": "worst.example"},
        "topics": [f"{n} " + "T" * 200 for n in range(60)],
        "images": [{"url": "https://img.example/" + "i" * 1900, "width": 1, "height": 1}],
        "related": [
            {"title": f"Zanzibar related {n} " + "L" * 500, "webUrl": f"https://r{n}.example/" + "p" * 1900,
             "provider": {"name": "R" * 300}, "quality": n, "publishedDateTime": "2024-05-30T10:00:00Z"}
            for n in range(10)
        ],
    })
    await load_corpus(scene.bot.db, scene.bot.config.corpus.path, now=NOW)

    article = only_embed(await scene.run("article", id=worst_id, public=True))
    assert len(article["title"]) == 256 and article["description"].endswith("…")
    found = await scene.run("search", query="zanzibar", since="2024-05-31", until="2024-05-31")
    assert ids_shown(found) == [worst_id], "published at 00:00 UTC counts for that day"
    assert "1 result" in only_embed(found)["footer"]["text"]
    before = await scene.run("search", query="zanzibar", until="2024-05-30")
    assert only_embed(before)["description"].startswith("No articles match")
    top = await scene.run("top")
    assert ids_shown(top)[0] == worst_id
    latest = await scene.run("latest")
    assert ids_shown(latest)[0] == worst_id
    menu = article_menu(top)
    assert menu is not None and all(len(option["label"]) <= 100 for option in menu["options"])
    opened = await scene.emu.click(top.message, menu["custom_id"], user=scene.alice, values=[worst_id])
    assert opened.answered and not opened.errors and only_embed(opened)["footer"]["text"].startswith("ID ")
