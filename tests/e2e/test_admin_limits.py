"""The operator's limits on what one server may ask, end to end: digests per server, the shortest interval
and keyword caps for digests made in Discord, manual runs (one at a time, an hourly budget), coalesced
refusal announcements and the logs pruned by age — each with the exact reply the admin sees."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot import delivery
from bot.fair import BUSY
from bot.ops.audit import AuditEvent, audit
from bot.render.text import discord_timestamp
from bot.store import audit_log, runs
from bot.store import digests as store
from bot.store.db import QueryBudgetExceeded
from tests.e2e import test_admin_digests
from tests.e2e.test_admin_digests import Scene, announcements_in, text_of

#: The `/admin digest` tests' scene fixture, shared.
scene = test_admin_digests.scene


def limit(scene: Scene, **changes: Any) -> None:
    """A configuration reload changing `limits`, as the runtime applies it."""
    config = scene.bot.config
    scene.bot.config = replace(config, limits=replace(config.limits, **changes))


async def test_a_schedule_faster_than_the_limit_is_refused_at_create_and_edit(scene: Scene) -> None:
    fast = await scene.create("fast", schedule="* * * * *")
    assert text_of(fast) == (
        "Not created: `schedule`: `* * * * *` runs as often as every 1 minute; digests made in Discord may "
        "run at most every 15 minutes. Pick a slower schedule, for example `0 8 * * *` (daily at 08:00)."
    )
    assert await store.get_digest(scene.bot.db, scene.key("fast")) is None
    await scene.create("steady", schedule="*/15 * * * *")
    edited = await scene.run("edit", name="steady", schedule="0,10 8 * * *")
    assert text_of(edited) == (
        "Not changed: `schedule`: `0,10 8 * * *` runs as often as every 10 minutes; digests made in Discord "
        "may run at most every 15 minutes. Pick a slower schedule, for example `0 8 * * *` (daily at 08:00)."
    )
    record = await store.get_digest(scene.bot.db, scene.key("steady"))
    assert record is not None and record.settings.schedule == "*/15 * * * *"


async def test_a_server_creates_at_most_its_share_of_digests(scene: Scene) -> None:
    limit(scene, digests_per_server=2)
    await scene.create("one")
    await scene.create("two")
    third = await scene.create("three")
    assert text_of(third) == (
        "Not created: this server already has 2 digests made in Discord, the most allowed (2); delete one "
        "with `/admin digest delete` first."
    )
    assert await store.get_digest(scene.bot.db, scene.key("three")) is None
    other_channel = next(iter(scene.other_guild.channels.values()))
    elsewhere = await scene.run("create", name="elsewhere", channel=other_channel, schedule="0 8 * * *",
                                user=scene.other_admin, guild=scene.other_guild)
    assert "Created digest" in text_of(elsewhere)


async def test_keywords_are_capped_in_number_length_and_breadth(scene: Scene) -> None:
    limit(scene, max_keywords=2, max_keyword_chars=12)
    many = await scene.create("many", keywords="harbour, ships, cape")
    assert text_of(many) == "Not created: `keywords`: 3 given; a digest may have at most 2."
    long = await scene.create("long", keywords="harbourmaster")
    assert text_of(long) == (
        "Not created: `keywords`: one keyword is 13 characters long; each may have at most 12."
    )
    limit(scene, max_keyword_chars=100)
    broad = await scene.create("broad", keywords="h* s* c* p*")
    assert text_of(broad) == (
        "Not created: `keywords`: “h\\* s\\* c\\* p\\*” is too broad: a keyword may have at most 12 words, "
        "3 of them ending in *."
    )
    spread = await scene.create("spread", keywords="ha* sh*, ca* po*")
    assert text_of(spread) == (
        "Not created: `keywords`: 4 words end in * across the keywords; all keywords together may have at "
        "most 3. Spell the others out in full."
    )
    await scene.create("fine", keywords="harbour, ships")
    edited = await scene.run("edit", name="fine", keywords="a, b, c")
    assert text_of(edited) == "Not changed: `keywords`: 3 given; a digest may have at most 2."


async def test_manual_runs_are_refused_while_one_runs_and_beyond_the_hourly_budget(scene: Scene) -> None:
    limit(scene, manual_runs_per_hour=2)
    await scene.create()
    runner = scene.bot.digest_scheduler.runner
    async with runner._lock(scene.key("harbour")):
        busy = await scene.run("run", name="harbour")
    assert text_of(busy) == (
        "Did not run **harbour**: a run of digest 'harbour' is in progress; wait for it to finish."
    )
    first = await scene.run("run", name="harbour")
    assert "Ran **harbour**" in text_of(first)
    scene.clock.advance(minutes=20)
    assert "Ran **harbour**" in text_of(await scene.run("run", name="harbour"))
    scene.clock.advance(minutes=10)
    over = await scene.run("run", name="harbour")
    assert text_of(over) == (
        "Did not run **harbour**: digest 'harbour' already ran 2 times by hand in the last hour, the most "
        "allowed \\(2\\); the next manual run is possible in 30 minutes."
    )
    scene.clock.advance(minutes=30)
    assert "Ran **harbour**" in text_of(await scene.run("run", name="harbour"))


async def test_repeated_refusals_of_one_member_are_one_announcement_with_a_count(scene: Scene) -> None:
    start = scene.clock()
    for _ in range(3):
        await scene.run("pause", name="nonexistent")
        scene.clock.advance(minutes=2)
    announced = announcements_in(scene)
    assert len(announced) == 1
    since = discord_timestamp(start, "R")
    assert announced[0].endswith(f"**3 refused attempts** by this member since {since}.")
    await scene.run("pause", name="nonexistent", user=scene.other_admin, guild=scene.other_guild)
    assert len(announcements_in(scene)) == 2, "another member's refusal is announced on its own"
    scene.clock.advance(minutes=5)
    await scene.run("resume", name="nonexistent")
    assert len(announcements_in(scene)) == 3, "ten minutes after the first, a refusal is announced anew"
    refused = [entry for entry in await audit_log.audit_entries(scene.bot.db) if entry.outcome == "refused"]
    assert len(refused) == 5, "every refusal is still recorded"


async def test_the_sweep_prunes_the_audit_and_delivery_logs_by_their_configured_age(scene: Scene) -> None:
    limit(scene, audit_log_days=30, delivery_log_days=10)
    await scene.create()
    await scene.run("run", name="harbour")
    old = scene.clock()
    event = AuditEvent(actor_id=None, guild_id=None, action="corpus reload", target=None, outcome="applied",
                       summary="reloaded")
    await audit(scene.bot, event)
    scene.clock.advance(days=11)
    await scene.reach(scene.clock())
    ledger = await runs.delivery_log(scene.bot.db, scene.key("harbour"))
    assert [entry for entry in ledger if entry.kind == "manual"] == []
    assert len(await audit_log.audit_entries(scene.bot.db)) == 3, "audit entries younger than 30 days stay"
    scene.clock.set(old + timedelta(days=31))
    await scene.reach(scene.clock())
    assert await audit_log.audit_entries(scene.bot.db) == []


async def test_a_manual_run_whose_compose_runs_past_the_budget_is_refused_in_words(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    await scene.create()

    async def too_slow(*args: Any, **kwargs: Any) -> Any:
        raise QueryBudgetExceeded("the read ran past its budget of 5 s")

    monkeypatch.setattr(delivery, "compose_next", too_slow)
    refused = await scene.run("run", name="harbour")
    assert text_of(refused) == (
        "Did not run **harbour**: composing digest 'harbour' took longer than the database allows a read; "
        "narrow its keywords or filters."
    )
    assert await runs.delivery_log(scene.bot.db, scene.key("harbour")) == []


async def test_digest_preview_and_explain_draw_on_the_members_lookup_bucket(scene: Scene) -> None:
    config = scene.bot.config
    scene.bot.config = replace(config, lookups=replace(config.lookups, cooldown_uses=2, cooldown_seconds=30))

    async def member(command: str, **options: Any) -> str:
        result = await scene.emu.invoke(command, user=scene.plain, guild=scene.guild, options=options)
        assert result.answered and not result.errors and result.ephemeral
        return text_of(result)

    assert "Harbour story" in await member("digest preview", name="configured")
    with scene.bot.lookup_limits.heavy.running(int(scene.plain.user.id)):
        assert await member("digest explain", name="configured", article_id="nothing") == BUSY
    refused = await member("digest preview", name="configured")
    retry_at = discord_timestamp(scene.clock() + timedelta(seconds=30), "R")
    assert refused == f"You're going a bit fast. Try again in 30 s ({retry_at})."
    assert "Digests in harbour" in await member("digest list"), "listing is not a lookup"
