"""`/digest list`, `/digest preview` and `/digest explain` end to end through the loopback Discord."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import (
    Config,
    CorpusConfig,
    DatabaseConfig,
    DigestDefaults,
    DigestSettings,
    DiscordConfig,
    digest_settings_from_mapping,
)
from bot.discord.client import create_bot
from bot.store import digests as store
from tests.emulator import Channel, Emulator, Guild, running_bot

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOP_SEED = "48933d0774f4b3c7"
LOW_SEED = "7e22685a7d214d17"


def digest(name: str, channel: Channel, **overrides: Any) -> DigestSettings:
    data = {"name": name, "channel_id": int(channel.id), "schedule": "0 8 * * *", "min_quality": 0}
    data.update(overrides)
    return digest_settings_from_mapping(data, DigestDefaults(), where="digests[0]", file=None)


def general(guild: Guild) -> Channel:
    return next(iter(guild.channels.values()))


def make_config(
    tmp_path: Path, state_url: str | None, guilds: tuple[Guild, ...], digests: tuple[DigestSettings, ...]
) -> Config:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    return Config(
        corpus=CorpusConfig(path=corpus),
        database=DatabaseConfig(path=tmp_path / "data" / "digestbot.sqlite3", url=state_url),
        discord=DiscordConfig(guild_ids=tuple(int(guild.id) for guild in guilds)),
        digests=digests,
    )


async def test_digest_list_shows_this_servers_digests_only(
    emulator: Emulator, tmp_path: Path, state_url: str | None
) -> None:
    home, away = emulator.add_guild("home"), emulator.add_guild("away")
    news = general(home)
    config = make_config(
        tmp_path, state_url, (home, away),
        (digest("morning", news, timezone="Europe/Paris"), digest("elsewhere", general(away))),
    )
    member = emulator.add_member(home)

    async with running_bot(create_bot(config, clock=lambda: NOW), emulator) as bot:
        await store.create_digest(bot.db, digest("weekly", news, schedule="0 9 * * mon"),
                                  guild_id=int(home.id), now=NOW)
        await store.set_paused(bot.db, f"{home.id}/weekly", "missing access to the channel", now=NOW)
        result = await emulator.invoke("digest list", user=member, guild=home, channel=news)

    assert result.ephemeral
    (embed,) = result.embeds
    assert embed["title"] == "Digests in home"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert set(fields) == {"morning", "weekly"}, "another server's digest is invisible"
    morning_next = int(datetime(2026, 3, 3, 7, 0, tzinfo=UTC).timestamp())
    assert f"<t:{morning_next}:f>" in fields["morning"]
    assert "Posts: at 08:00, every day, Europe/Paris (`0 8 * * *`)" in fields["morning"]
    assert "Posts: at 09:00, on Mondays, UTC (`0 9 * * mon`)" in fields["weekly"]
    assert f"<#{news.id}>" in fields["morning"]
    assert "Active" in fields["morning"] and "config file" in fields["morning"]
    assert "Paused: missing access to the channel" in fields["weekly"]


async def test_digest_preview_shows_the_next_run_and_autocompletes_names(
    emulator: Emulator, tmp_path: Path, state_url: str | None
) -> None:
    home = emulator.add_guild("home")
    news = general(home)
    config = make_config(tmp_path, state_url, (home,), (digest("morning", news, backlog=2),))
    member = emulator.add_member(home)

    async with running_bot(create_bot(config, clock=lambda: NOW), emulator) as bot:
        choices = await emulator.autocomplete("digest preview", focused="name", value="mor", user=member,
                                              guild=home, channel=news)
        result = await emulator.invoke("digest preview", user=member, guild=home, channel=news,
                                       options={"name": "morning"})
        unknown = await emulator.invoke("digest preview", user=member, guild=home, channel=news,
                                        options={"name": "nope"})
        record = await store.get_digest(bot.db, "morning")

    assert [choice["value"] for choice in choices] == ["morning"]
    assert result.ephemeral
    next_slot = int(datetime(2026, 3, 3, 8, 0, tzinfo=UTC).timestamp())
    assert result.content == (
        f"Preview of the next run: 1 message.\n📰 **Morning** · <t:{next_slot}:f> · 2 stories"
    )
    assert [embed["title"] for embed in result.embeds] == [
        "New Orleans police use of facial recognition technology nets zero arrests in nine months",
        "NOPD has used facial recognition since at least 2018, emails reveal",
    ], "the freshest seed first, then the best-rated"
    assert "\nMore: [The Lens](" in result.embeds[1]["description"]
    assert emulator.channel_messages(news) == [], "a preview posts nothing in the channel"
    assert record is not None and not record.first_run_claimed and record.guild_id == int(home.id)
    assert unknown.ephemeral and "no digest called **nope**" in unknown.embeds[0]["description"]


async def test_digest_explain_says_why_an_article_is_in_or_out(
    emulator: Emulator, tmp_path: Path, state_url: str | None
) -> None:
    home = emulator.add_guild("home")
    news = general(home)
    config = make_config(tmp_path, state_url, (home,), (digest("morning", news, backlog=1),))
    member = emulator.add_member(home)

    async with running_bot(create_bot(config, clock=lambda: NOW), emulator):
        article_choices = await emulator.autocomplete(
            "digest explain", focused="article_id", value="NOPD emails", user=member, guild=home,
            channel=news, options={"name": "morning"},
        )
        # Fresh first: the newest seed takes the only backlog place, ahead of the best-rated one.
        leading = await emulator.invoke("digest explain", user=member, guild=home, channel=news,
                                        options={"name": "morning", "article_id": LOW_SEED})
        outside = await emulator.invoke("digest explain", user=member, guild=home, channel=news,
                                        options={"name": "morning", "article_id": TOP_SEED.upper()})

    assert TOP_SEED in [choice["value"] for choice in article_choices]
    assert leading.ephemeral and outside.ephemeral
    assert leading.embeds[0]["title"] == "✅ In the next run of morning"
    assert "leads story 1 of 1" in leading.embeds[0]["description"]
    assert outside.embeds[0]["title"] == "❌ Not in the next run of morning"
    assert "outside the first run's backlog of 1" in outside.embeds[0]["description"]
    assert outside.embeds[0]["footer"]["text"] == f"Article {TOP_SEED}", "ids are found in any letter case"
    assert f"Digest **morning** posts to <#{news.id}>." in leading.embeds[0]["description"]
    details = outside.embeds[0]["fields"][0]["value"]
    url = "https://www.nola.com/news/crime_police/article_2e2fccb2-3e5c-11eb-a45d-032cabc1b089.html"
    label = url.removeprefix("https://").replace("_", "\\_")
    assert f"• url [{label}]({url})" in details, "the URL links, with no escapes inside the link"
