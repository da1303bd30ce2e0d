"""What members see of a posted digest, through the emulator: the header, compact items, the "+N"
coverage button, which keeps answering after the bot restarts, and worst-case payloads Discord accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from discord.http import Route

from bot.render.digest import DigestHeader, render_digest
from tests.e2e.test_delivery import World, digest, only_run, reconcile_at, utc
from tests.emulator import Emulator
from tests.unit.test_render_digest import worst_case_story


@pytest.fixture
def world(emulator: Emulator, tmp_path: Path, state_url: str | None) -> World:
    return World(emulator, tmp_path, state_url)


async def test_a_compact_digest_reads_like_a_brief_and_its_coverage_button_works_after_a_restart(
    world: World,
) -> None:
    config = world.config(digest("morning", world.channel, title="Morning brief", max_related=1))
    async with world.bot(config) as bot:
        outcomes = await reconcile_at(world, bot, utc(2026, 6, 1, 8, 0, 5), "morning")
        run = await only_run(bot, "morning")
    assert [o.status for o in outcomes] == ["posted"]
    (posted,) = world.posted()
    slot = int(utc(2026, 6, 1, 8, 0).timestamp())
    assert posted.content == f"📰 **Morning brief** · <t:{slot}:f> · 5 stories"
    assert posted.embeds == run.messages[0].planned.payload["embeds"]
    titles = [embed["title"] for embed in posted.embeds]
    assert titles[0].startswith("New Orleans police use of facial recognition technology nets zero"), (
        "the freshest seed leads the first run"
    )
    lead = posted.embeds[titles.index("NOPD has used facial recognition since at least 2018, emails reveal")]
    assert lead["description"].splitlines()[-1] == (
        "More: [The Lens](https://thelensnola.org/2020/12/14/city-releases-dozens-of-pages-of-emails-on-"
        "police-use-of-facial-recognition/) · +2"
    )
    button = "digestbot:coverage:48933d0774f4b3c7"
    assert button in posted.custom_ids()
    member = world.emu.add_member(world.guild)

    world.clock.set(utc(2026, 6, 1, 9, 0))
    async with world.bot(config):
        clicked = await world.emu.click(posted, button, user=member)
    assert clicked.ephemeral and clicked.errors == []
    (coverage,) = clicked.embeds
    assert coverage["title"] == lead["title"]
    related = next(field for field in coverage["fields"] if field["name"] == "Related coverage")
    assert [line.split("](")[0] for line in related["value"].splitlines()] == [
        "[City releases dozens of pages of emails on police use of facial recognition",
        "[New Orleans Police Have Used Facial Recognition for Years",
        "[ACLU of Louisiana Obtains E-mails that Confirm NOPD’s Use of Racially Biased Facial Recognition "
        "Technology",
    ]
    assert len(world.posted()) == 1, "a click posts nothing in the channel"


async def test_a_coverage_button_for_an_article_gone_from_the_corpus_says_so(world: World) -> None:
    config = world.config(digest("morning", world.channel, max_related=0))
    async with world.bot(config) as bot:
        await reconcile_at(world, bot, utc(2026, 6, 1, 8, 0, 5), "morning")
        (posted,) = world.posted()
        for path in world.corpus.glob("*48933d0774f4b3c7*"):
            path.unlink()
        await bot.refresh_corpus()
        member = world.emu.add_member(world.guild)
        clicked = await world.emu.click(posted, "digestbot:coverage:48933d0774f4b3c7", user=member)
    assert clicked.ephemeral
    assert "no longer in the corpus" in clicked.embeds[0]["description"]


@pytest.mark.parametrize("style", ["compact", "rich"])
async def test_worst_case_digests_pass_the_emulators_checks_and_the_openapi_schema(
    world: World, style: str
) -> None:
    stories = [worst_case_story(n) for n in range(10)]
    header = DigestHeader("W" * 80, utc(2026, 6, 1, 8, 0), len(stories))
    messages = [
        planned
        for mode in ("channel", "thread")
        for planned in render_digest(header, stories, max_related=10, mode=mode, style=style, color=0)
    ]
    async with world.bot(world.config()) as bot:
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=int(world.channel.id))
        for planned in messages:
            await bot.http.request(route, json=planned.payload)
    assert len(world.posted()) == len(messages)
    assert world.emu.violations == []
