"""Hostile lookups end to end: search text is bounded, a query past its budget is refused in words, one
member has one heavy query in flight and one cooldown bucket, and page turns never search again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.config import Config, CorpusConfig, DatabaseConfig, DiscordConfig, LookupsConfig
from bot.discord.client import create_bot
from bot.fair import BUSY, TOO_BROAD
from bot.render.text import discord_timestamp
from bot.store import articles as store
from bot.store import db as db_module
from bot.store import search as search_store
from bot.store.fts import MAX_QUERY_CHARS, MAX_TERMS
from tests.e2e.test_lookup import NOW, Scene, build_corpus, click, ids_shown, lighthouse_id, only_embed
from tests.emulator import Emulator, running_bot


@pytest.fixture
async def scene(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Scene]:
    """The lookup scene, with SQLite's progress handler called at every step so a spent budget shows at
    once even on this small corpus."""
    monkeypatch.setattr(db_module, "PROGRESS_STEPS", 1)
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


def description(result: Any) -> str:
    return str(only_embed(result).get("description") or "")


async def test_every_option_that_feeds_full_text_search_has_a_max_length(scene: Scene) -> None:
    commands = {command["name"]: command for command in scene.emu.synced_commands(scene.guild)}
    options = {option["name"]: option for option in commands["search"]["options"]}
    assert options["query"]["max_length"] == MAX_QUERY_CHARS
    article = {option["name"]: option for option in commands["article"]["options"]}
    assert article["id"]["max_length"] == MAX_QUERY_CHARS
    explain = next(sub for sub in commands["digest"]["options"] if sub["name"] == "explain")
    assert {option["name"]: option for option in explain["options"]}["article_id"]["max_length"] == (
        MAX_QUERY_CHARS
    )
    with pytest.raises(ValueError, match="length must be within"):
        await scene.emu.invoke("search", user=scene.alice, guild=scene.guild,
                               options={"query": "t* " * 2000})


async def test_too_many_terms_get_a_reply_saying_what_to_narrow(scene: Scene) -> None:
    result = await scene.run("search", query=" ".join(["lighthouse"] * (MAX_TERMS + 1)))
    assert result.ephemeral
    assert description(result) == (
        f"That search has {MAX_TERMS + 1} words; use at most {MAX_TERMS}: keep the words that matter most, "
        "or add a filter."
    )
    prefixes = await scene.run("search", query="l* c* g* s*")
    assert description(prefixes) == (
        "That search has 4 words ending in *; use at most 3: spell the others out in full."
    )


async def test_a_search_past_its_budget_is_refused_in_words_and_the_next_one_is_served(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_store, "SEARCH_BUDGET_SECONDS", 0.0)
    refused = await scene.run("search", query="lighthouse")
    assert refused.ephemeral
    assert description(refused) == TOO_BROAD
    monkeypatch.setattr(search_store, "SEARCH_BUDGET_SECONDS", 5.0)
    served = await scene.run("search", query="lighthouse")
    assert only_embed(served)["footer"]["text"].startswith("Page 1/3")


async def test_autocomplete_past_its_budget_or_the_caps_offers_only_an_id_typed_in_full(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def choices(typed: str) -> list[str]:
        found = await scene.emu.autocomplete("article", focused="id", value=typed, user=scene.alice,
                                             guild=scene.guild)
        return [choice["value"] for choice in found]

    assert lighthouse_id(0) in await choices("lighthouse keeper")
    assert await choices(" ".join(["l*"] * 60)) == []
    monkeypatch.setattr(store, "AUTOCOMPLETE_BUDGET_SECONDS", 0.0)
    assert await choices("lighthouse keeper") == []
    monkeypatch.setattr(store, "AUTOCOMPLETE_BUDGET_SECONDS", 5.0)
    assert await choices(lighthouse_id(3)) == [lighthouse_id(3)]


async def test_a_member_with_a_search_in_flight_is_asked_to_wait(scene: Scene) -> None:
    with scene.bot.lookup_limits.heavy.running(int(scene.alice.user.id)):
        refused = await scene.run("search", query="lighthouse")
        other = await scene.run("search", query="lighthouse", user=scene.bob)
    assert description(refused) == BUSY
    assert only_embed(other)["footer"]["text"].startswith("Page 1/3")
    again = await scene.run("search", query="lighthouse")
    assert only_embed(again)["footer"]["text"].startswith("Page 1/3")


async def test_page_turns_reuse_the_first_ranking_and_never_search_again(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    searches: list[str] = []
    original = search_store.search

    async def counted(*args: Any, **kwargs: Any) -> search_store.SearchPage:
        searches.append(args[1])
        return await original(*args, **kwargs)

    monkeypatch.setattr(search_store, "search", counted)
    first = await scene.run("search", query="lighthouse")
    assert first.message is not None
    shown = ids_shown(first)
    second = await click(scene, first.message, "Next")
    assert second.message is not None
    shown += ids_shown(second)
    third = await click(scene, second.message, "Next")
    shown += ids_shown(third)
    assert searches == ["lighthouse"]
    assert sorted(shown) == sorted(lighthouse_id(index) for index in range(12))


async def test_one_cooldown_bucket_covers_commands_page_turns_and_autocomplete(scene: Scene) -> None:
    scene.configure_lookups(cooldown_uses=3, cooldown_seconds=60)
    first = await scene.run("search", query="lighthouse")
    assert first.message is not None
    await click(scene, first.message, "Next")
    await scene.run("article", id=lighthouse_id(0))
    offered = await scene.emu.autocomplete("article", focused="id", value="lighthouse", user=scene.alice,
                                           guild=scene.guild)
    assert offered == []
    retry_at = discord_timestamp(NOW + timedelta(seconds=60), "R")
    wait = f"You're going a bit fast. Try again in 60 s ({retry_at})."
    refused = await scene.run("latest")
    assert refused.ephemeral and description(refused) == wait
    turned = await click(scene, first.message, "Next")
    assert turned.ephemeral and description(turned) == wait
    scene.clock.advance(seconds=60)
    assert "results" in only_embed(await scene.run("search", query="lighthouse"))["footer"]["text"]
