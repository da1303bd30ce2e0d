"""`/admin digest …` end to end: server admins create, change, pause, run and delete digests through the
emulator, with the real bot, a corpus on disk and a controllable clock (slots are reached by moving the
clock and running the scheduler's sweep, never by waiting)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from discord import app_commands

from bot.clock import FakeClock
from bot.config import (
    Config,
    CorpusConfig,
    DatabaseConfig,
    DigestDefaults,
    DiscordConfig,
    digest_settings_from_mapping,
)
from bot.discord.client import DigestBot, create_bot
from bot.discord.cogs.admin import admin_group
from bot.discord.ui.confirm import ConfirmView
from bot.permissions import Access, access_of
from bot.render.embeds import NOTICE_COLORS
from bot.render.text import clean
from bot.store import audit_log, runs
from bot.store import digests as store
from tests.emulator import CommandUnavailable, Emulator, Guild, InteractionResult, Member, running_bot
from tests.emulator.state import (
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    MANAGE_GUILD,
    SEND_MESSAGES,
    Channel,
    Overwrite,
)

# A Monday, ten minutes before the 08:00 slots the tests schedule.
NOW = datetime(2026, 3, 2, 7, 50, tzinfo=UTC)
DAILY_8 = "0 8 * * *"
ARTICLES = 4


# --- the corpus


def write_article(folder: Path, number: int, *, quality: int = 60) -> str:
    """One article file; returns its URL (the canonical URL digests deliver)."""
    article_id = f"{0xD00 + number:016x}"
    url = f"https://news.example/story-{number}"
    front = {
        "title": f"Harbour story number {number}",
        "webUrl": url,
        "publishedDateTime": (datetime(2026, 2, 1, 9, tzinfo=UTC) + timedelta(hours=number)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "excerpt": f"What happened at the harbour, part {number}.",
        "quality": quality,
        "heat": 1,
        "provider": {"name": "Harbour Post", "domain": "harbourpost.example"},
        "topics": ["Maritime"],
    }
    text = "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n"
    (folder / f"{number:03d}_{article_id}.txt").write_text(text, encoding="utf-8")
    return url


# --- the running bot


@dataclass
class Scene:
    emu: Emulator
    bot: DigestBot
    clock: FakeClock
    corpus: Path
    guild: Guild
    general: Channel
    news: Channel
    logs: Channel
    admin: Member
    plain: Member
    other_guild: Guild
    other_admin: Member

    async def run(
        self, command: str, *, user: Member | None = None, guild: Guild | None = None, **options: Any
    ) -> InteractionResult:
        result = await self.emu.invoke(
            f"admin digest {command}", user=user or self.admin, guild=guild or self.guild, options=options
        )
        assert result.answered and not result.errors, result.errors
        assert result.ephemeral, f"/admin digest {command} answered publicly"
        return result

    async def create(self, name: str = "harbour", **options: Any) -> InteractionResult:
        options.setdefault("channel", self.news)
        options.setdefault("schedule", DAILY_8)
        # The test corpus is years old: without this, the default age limit would leave it nothing to post.
        options.setdefault("max_age_days", 0)
        return await self.run("create", name=name, **options)

    def key(self, name: str) -> str:
        """The stored key of a digest created from Discord in the scene's server."""
        return store.digest_key(name, guild_id=int(self.guild.id), source="runtime")

    async def reach(self, moment: datetime) -> None:
        """Move the clock to `moment` and let the scheduler's sweep do what is due."""
        self.clock.set(moment)
        scheduler = self.bot.digest_scheduler
        assert scheduler is not None
        await scheduler.sweep()
        await scheduler.runner.wait_idle()

    async def add_article(self, number: int) -> str:
        """A new article arrives: written to the corpus folder and loaded, as a corpus refresh does."""
        url = write_article(self.corpus, number)
        await self.bot.refresh_corpus()
        return url

    def posted(self, channel: Channel | None = None) -> list[str]:
        """The content (header line) of every message the bot posted in the channel, oldest first."""
        bot_id = self.emu.world.bot_user.id
        return [
            message.content or ""
            for message in self.emu.channel_messages(channel or self.news)
            if message.author.id == bot_id and message.webhook_id is None
        ]

    def urls_posted(self, channel: Channel | None = None) -> list[str]:
        """Every article link the bot's messages in the channel lead with (embed URLs), oldest first."""
        bot_id = self.emu.world.bot_user.id
        return [
            embed["url"]
            for message in self.emu.channel_messages(channel or self.news)
            if message.author.id == bot_id and message.webhook_id is None
            for embed in message.embeds
            if embed.get("url")
        ]


@pytest.fixture
async def scene(emulator: Emulator, tmp_path: Path, state_url: str | None) -> AsyncIterator[Scene]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(ARTICLES):
        write_article(corpus, number, quality=60 + number)
    guild = emulator.add_guild("harbour")
    general = next(iter(guild.channels.values()))
    news = emulator.add_channel(guild, "news")
    logs = emulator.add_channel(guild, "bot-log")
    admin = emulator.add_member(guild, permissions=MANAGE_GUILD)
    plain = emulator.add_member(guild)
    other_guild = emulator.add_guild("elsewhere")
    other_admin = emulator.add_member(other_guild, permissions=MANAGE_GUILD)
    configured = digest_settings_from_mapping(
        {"name": "configured", "channel_id": int(general.id), "schedule": "0 9 * * *"},
        DigestDefaults(), where="digests[0]", file=None,
    )
    config = Config(
        corpus=CorpusConfig(path=corpus),
        database=DatabaseConfig(path=tmp_path / "data" / "digestbot.sqlite3", url=state_url),
        discord=DiscordConfig(guild_ids=(int(guild.id), int(other_guild.id)), log_channel_id=int(logs.id)),
        digests=(configured,),
    )
    clock = FakeClock(NOW)
    async with running_bot(create_bot(config, clock=clock), emulator) as bot:
        assert bot.failed_extensions == {}
        yield Scene(emulator, bot, clock, corpus, guild, general, news, logs, admin, plain, other_guild,
                    other_admin)
        assert bot.digest_scheduler is not None
        await bot.digest_scheduler.runner.wait_idle()


# --- reading replies


def text_of(result: InteractionResult) -> str:
    parts = []
    for embed in result.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [(embed.get("footer") or {}).get("text", "")]
    return "\n".join(part for part in parts if part)


def buttons(result: InteractionResult) -> dict[str, dict[str, Any]]:
    found = {}
    for row in result.components:
        for item in row.get("components", []):
            if item.get("type") == 2:
                found[item["label"]] = item
    return found


async def click(scene: Scene, result: InteractionResult, label: str, *, user: Member | None = None
                ) -> InteractionResult:
    message = result.message
    assert message is not None
    outcome = await scene.emu.click(message, buttons(result)[label]["custom_id"], user=user or scene.admin)
    assert outcome.answered and not outcome.errors, outcome.errors
    return outcome


def timestamp_of(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:F>"


# --- create → the scheduled slot posts


async def test_create_replies_with_the_next_run_and_a_preview_then_the_slot_posts(scene: Scene) -> None:
    result = await scene.create(timezone="Europe/Paris", schedule="0 9 * * *", topics="maritime, Sport")

    reply = text_of(result)
    assert "Created digest **harbour**" in reply
    nine_in_paris = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert timestamp_of(nine_in_paris) in reply
    assert "2026-03-02 09:00 Europe/Paris" in reply
    assert "**Posts:** at 09:00, every day, Europe/Paris" in reply
    assert "Topics: maritime, Sport" in reply
    [preview] = result.followups
    assert preview.ephemeral
    assert preview.content is not None and preview.content.startswith("Preview of the next run")
    assert len(preview.embeds) == ARTICLES

    record = await store.get_digest(scene.bot.db, scene.key("harbour"))
    assert record is not None and record.source == "runtime" and record.guild_id == int(scene.guild.id)
    assert scene.posted() == []

    await scene.reach(datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC))

    [header] = scene.posted()
    assert "Harbour" in header
    assert len(scene.urls_posted()) == ARTICLES
    [entry] = await runs.delivery_log(scene.bot.db, scene.key("harbour"))
    assert entry.status == "posted" and entry.kind == "scheduled"


async def test_timezone_autocompletes_iana_names(scene: Scene) -> None:
    choices = await scene.emu.autocomplete(
        "admin digest create", focused="timezone", value="pari", user=scene.admin, guild=scene.guild,
        options={"name": "x", "channel": scene.news, "schedule": DAILY_8},
    )
    assert choices[0]["value"] == "Europe/Paris"
    assert 0 < len(choices) <= 25
    assert all("pari" in choice["value"].lower() for choice in choices)


# --- refusals at creation


async def test_create_in_a_channel_the_bot_cannot_post_in_is_refused_naming_the_permissions(
    scene: Scene,
) -> None:
    bot_role = next(role for role in scene.guild.roles.values() if role.managed)
    scene.emu.set_channel_overwrite(scene.news, Overwrite(bot_role.id, 0, deny=SEND_MESSAGES | EMBED_LINKS))

    result = await scene.create()

    reply = text_of(result)
    assert reply.startswith("Not created.")
    assert "**Send Messages**" in reply and "**Embed Links**" in reply
    assert "View Channel" not in reply
    assert await store.get_digest(scene.bot.db, scene.key("harbour")) is None


async def test_thread_mode_also_needs_thread_permissions(scene: Scene) -> None:
    bot_role = next(role for role in scene.guild.roles.values() if role.managed)
    scene.emu.set_channel_overwrite(scene.news, Overwrite(bot_role.id, 0, deny=CREATE_PUBLIC_THREADS))

    in_channel = await scene.create("plain-mode")
    in_thread = await scene.create("thread-mode", mode="thread")

    assert "Created digest" in text_of(in_channel)
    assert "**Create Public Threads**" in text_of(in_thread)
    assert await store.get_digest(scene.bot.db, scene.key("thread-mode")) is None


@pytest.mark.parametrize(
    ("options", "option", "reason"),
    [
        ({"schedule": "0 8 * *"}, "schedule", "cron expression '0 8 * *' has 4 field(s)"),
        ({"schedule": "0 8 1 * mon"}, "schedule", "restricts both day-of-month and day-of-week"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "London"}, "timezone", "unknown time zone 'London' — did you mean Europe/London?"),
        ({"schedule": "daily 8am"}, "schedule", "'8am' is not a time; write it as HH:MM"),
        ({"min_quality": 150}, "min_quality", "150 is out of range (allowed: 0-100)"),
        ({"name": "Bad Name"}, "name", "'Bad Name' is not a valid digest name"),
    ],
)
async def test_bad_settings_are_refused_clearly(
    scene: Scene, options: dict[str, Any], option: str, reason: str
) -> None:
    result = await scene.create(**{"name": "harbour", **options})
    reply = text_of(result)
    assert reply.startswith(f"Not created: `{option}`: ")
    assert clean(reason) in reply
    assert [record.name for record in await store.list_digests(scene.bot.db)] == ["configured"]


async def test_a_duplicate_name_is_refused_including_a_config_digests(scene: Scene) -> None:
    await scene.create()

    again = await scene.create()
    configured = await scene.create("configured")

    assert text_of(again) == clean(
        "Not created: a digest called 'harbour' already exists in this server (created from Discord); "
        "pick another name."
    )
    assert text_of(configured) == clean(
        "Not created: a digest called 'configured' already exists in this server (config.yaml); "
        "pick another name."
    )
    record = await store.get_digest(scene.bot.db, "configured")
    assert record is not None and record.source == "config"


# --- edit


async def test_a_preset_schedule_is_stored_as_cron_and_said_back_in_words(scene: Scene) -> None:
    result = await scene.create(schedule="weekdays 08:00", timezone="Europe/London")
    reply = text_of(result)
    assert "**Posts:** at 08:00, Monday to Friday, Europe/London" in reply
    assert "Schedule: `0 8 * * mon-fri`" in reply
    record = await store.get_digest(scene.bot.db, scene.key("harbour"))
    assert record is not None and record.settings.schedule == "0 8 * * mon-fri"


async def test_edit_schedule_changes_the_next_run_from_now_on(scene: Scene) -> None:
    await scene.create()
    scene.clock.set(datetime(2026, 3, 2, 7, 55, tzinfo=UTC))

    result = await scene.run("edit", name="harbour", schedule="30 7 * * *", max_articles=2)

    reply = text_of(result)
    assert "Schedule: `0 8 * * *` → `30 7 * * *`" in reply
    assert "**Posts:** at 07:30, every day, UTC" in reply
    assert "Stories per run: 5 → 2" in reply
    tomorrow = datetime(2026, 3, 3, 7, 30, tzinfo=UTC)
    assert timestamp_of(tomorrow) in reply, "07:30 today already passed when the schedule changed"
    record = await store.get_digest(scene.bot.db, scene.key("harbour"))
    assert record is not None and record.settings.schedule == "30 7 * * *"
    assert record.schedule_from == scene.clock()

    await scene.reach(datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC))
    assert scene.posted() == [], "the old 08:00 slot no longer runs"
    await scene.reach(datetime(2026, 3, 3, 7, 30, 5, tzinfo=UTC))
    assert len(scene.posted()) == 1
    assert len(scene.urls_posted()) == 2


async def test_edit_to_a_channel_the_bot_cannot_use_is_refused(scene: Scene) -> None:
    await scene.create()
    bot_role = next(role for role in scene.guild.roles.values() if role.managed)
    closed = scene.emu.add_channel(scene.guild, "closed")
    scene.emu.set_channel_overwrite(closed, Overwrite(bot_role.id, 0, deny=SEND_MESSAGES))

    result = await scene.run("edit", name="harbour", channel=closed)

    assert "**Send Messages**" in text_of(result)
    record = await store.get_digest(scene.bot.db, scene.key("harbour"))
    assert record is not None and record.channel_id == int(scene.news.id)


async def test_a_config_digest_cannot_be_edited_or_deleted_from_discord(scene: Scene) -> None:
    edited = await scene.run("edit", name="configured", max_articles=2)
    deleted = await scene.run("delete", name="configured")

    for result in (edited, deleted):
        assert "defined in config.yaml — change it there and run `/admin reload config`" in text_of(result)
        assert buttons(result) == {}
    record = await store.get_digest(scene.bot.db, "configured")
    assert record is not None and record.settings.max_articles == 5


# --- pause and resume


async def test_pause_skips_the_slot_and_resume_rechecks_permissions_without_catching_up(
    scene: Scene,
) -> None:
    await scene.create()
    paused = await scene.run("pause", name="harbour", reason="quiet week")
    assert "Paused digest **harbour**" in text_of(paused)

    await scene.reach(datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC))
    assert scene.posted() == []
    run = await scene.run("run", name="harbour")
    assert "is paused" in text_of(run) and "quiet week" in text_of(run)

    bot_role = next(role for role in scene.guild.roles.values() if role.managed)
    scene.emu.set_channel_overwrite(scene.news, Overwrite(bot_role.id, 0, deny=EMBED_LINKS))
    refused = await scene.run("resume", name="harbour")
    assert "Still paused" in text_of(refused) and "**Embed Links**" in text_of(refused)
    scene.emu.set_channel_overwrite(scene.news, Overwrite(bot_role.id, 0))

    scene.clock.set(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    resumed = await scene.run("resume", name="harbour")
    assert "Resumed digest **harbour**" in text_of(resumed)
    assert timestamp_of(datetime(2026, 3, 3, 8, 0, tzinfo=UTC)) in text_of(resumed)

    await scene.reach(datetime(2026, 3, 2, 8, 31, tzinfo=UTC))
    assert scene.posted() == [], "resuming does not catch up the slot skipped during the pause"
    [skipped] = await runs.delivery_log(scene.bot.db, scene.key("harbour"))
    assert skipped.status == "skipped" and skipped.error == "paused"

    await scene.reach(datetime(2026, 3, 3, 8, 0, 5, tzinfo=UTC))
    assert len(scene.posted()) == 1


# --- run now and mark seen


async def test_run_now_twice_posts_only_what_is_new(scene: Scene) -> None:
    await scene.create()

    first = await scene.run("run", name="harbour")
    scene.clock.advance(seconds=1)
    second = await scene.run("run", name="harbour")

    assert "posted 1 message" in text_of(first)
    assert "nothing new to post" in text_of(second)
    assert len(scene.urls_posted()) == ARTICLES

    new_url = await scene.add_article(50)
    scene.clock.advance(seconds=1)
    third = await scene.run("run", name="harbour")

    assert "posted 1 message" in text_of(third)
    urls = scene.urls_posted()
    assert urls[-1] == new_url and urls.count(new_url) == 1
    assert len(urls) == len(set(urls)) == ARTICLES + 1
    kinds = [entry.kind for entry in await runs.delivery_log(scene.bot.db, scene.key("harbour"))]
    assert kinds == ["manual", "manual", "manual"]

    status = await scene.emu.invoke("admin status", user=scene.admin, guild=scene.guild)
    [shown] = [f["value"] for f in status.embeds[0]["fields"] if "**harbour**" in f["value"]]
    assert ": posted (1/1 messages)" in shown, "the status finds the runs of a digest created from Discord"


async def test_mark_seen_then_run_posts_nothing(scene: Scene) -> None:
    await scene.create()

    marked = await scene.run("mark-seen", name="harbour")
    run = await scene.run("run", name="harbour")

    assert f"Marked {ARTICLES} articles" in text_of(marked)
    assert "nothing new to post" in text_of(run)
    assert scene.posted() == []


async def test_log_pages_through_the_delivery_log(scene: Scene) -> None:
    await scene.create()
    empty = await scene.run("log", name="harbour")
    assert "has not run yet" in text_of(empty)

    for _ in range(12):
        await scene.run("run", name="harbour")
        scene.clock.advance(seconds=1)
    first = await scene.run("log", name="harbour")

    assert "Page 1/2" in text_of(first)
    assert text_of(first).count("**empty**") == 10
    assert first.message is not None
    next_id = buttons(first)["Next"]["custom_id"]
    stranger = await scene.emu.click(first.message, next_id, user=scene.plain)
    assert "Only the person who asked" in text_of(stranger)
    second = await click(scene, first, "Next")
    assert "Page 2/2" in text_of(second)
    assert "**posted**" in text_of(second) and "**empty**" in text_of(second)


# --- delete


async def test_delete_asks_to_confirm_and_cancel_changes_nothing(scene: Scene) -> None:
    await scene.create()

    asked = await scene.run("delete", name="harbour")
    assert "Delete digest **harbour**?" in text_of(asked)
    stranger = await scene.emu.click(asked.message, buttons(asked)["Delete"]["custom_id"], user=scene.plain)
    assert "Only the person who asked" in text_of(stranger)
    cancelled = await click(scene, asked, "Cancel")

    assert "was not deleted" in text_of(cancelled)
    assert all(button.get("disabled") for button in buttons(cancelled).values())
    assert await store.get_digest(scene.bot.db, scene.key("harbour")) is not None


async def test_delete_with_confirmation_removes_the_digest_and_its_alarm(scene: Scene) -> None:
    await scene.create()

    asked = await scene.run("delete", name="harbour")
    deleted = await click(scene, asked, "Delete")

    assert "Deleted digest **harbour**" in text_of(deleted)
    assert all(button.get("disabled") for button in buttons(deleted).values())
    assert await store.get_digest(scene.bot.db, scene.key("harbour")) is None
    await scene.reach(datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC))
    assert scene.posted() == []


async def test_delete_rechecks_the_server_admin_rule_when_confirmed(scene: Scene) -> None:
    await scene.create()
    asked = await scene.run("delete", name="harbour")
    scene.admin.role_ids.clear()  # Manage Server taken away while the prompt waits

    clicked = await click(scene, asked, "Delete")

    refusal = "Not deleted. Only server admins of this server can manage this server's digests."
    assert text_of(clicked) == refusal
    assert all(button.get("disabled") for button in buttons(clicked).values())
    assert await store.get_digest(scene.bot.db, scene.key("harbour")) is not None
    [entry, *_] = await audit_log.audit_entries(scene.bot.db)
    admin_id = int(scene.admin.user.id)
    assert (entry.action, entry.outcome, entry.actor_id) == ("digest delete", "refused", admin_id)


async def test_delete_unanswered_until_the_timeout_changes_nothing(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[ConfirmView] = []

    class RecordedConfirmView(ConfirmView):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            prompts.append(self)

    # The running bot's copy of the extension (discord.py imports extensions afresh when loading them).
    monkeypatch.setattr(sys.modules["bot.discord.cogs.admin_digests"], "ConfirmView", RecordedConfirmView)
    await scene.create()
    asked = await scene.run("delete", name="harbour")

    [prompt] = prompts
    await prompt.on_timeout()  # what discord.py calls when nobody answers in time

    assert asked.message is not None
    closed = scene.emu.message(asked.message.id)
    assert "No answer: digest **harbour** was not deleted." in closed.embeds[0]["description"]
    with pytest.raises(CommandUnavailable, match="disabled"):
        await scene.emu.click(closed, buttons(asked)["Delete"]["custom_id"], user=scene.admin)
    assert await store.get_digest(scene.bot.db, scene.key("harbour")) is not None


# --- who sees what


async def test_a_member_without_rights_is_refused(scene: Scene) -> None:
    with pytest.raises(CommandUnavailable, match="hidden"):
        await scene.run("create", user=scene.plain, name="harbour", channel=scene.news, schedule=DAILY_8)
    assert await store.get_digest(scene.bot.db, scene.key("harbour")) is None

    # Discord's default permission only hides the commands (servers can override it): each one also
    # applies the server-admin rule when it runs.
    group = admin_group(scene.bot).get_command("digest")
    assert isinstance(group, app_commands.Group)
    assert {command.name: access_of(command) for command in group.commands} == {
        name: Access.GUILD
        for name in ("create", "edit", "delete", "pause", "resume", "run", "mark-seen", "log")
    }


async def test_another_guilds_digest_is_invisible(scene: Scene) -> None:
    await scene.create()

    for command in ("pause", "run", "mark-seen", "log", "edit", "delete"):
        extra = {"max_articles": 2} if command == "edit" else {}
        result = await scene.run(command, user=scene.other_admin, guild=scene.other_guild, name="harbour",
                                 **extra)
        assert "There is no digest named **harbour** in this server" in text_of(result), command
    choices = await scene.emu.autocomplete(
        "admin digest run", focused="name", value="", user=scene.other_admin, guild=scene.other_guild
    )
    assert choices == []
    own = await scene.emu.autocomplete(
        "admin digest run", focused="name", value="", user=scene.admin, guild=scene.guild
    )
    assert [choice["value"] for choice in own] == ["configured", "harbour"]
    listed = await scene.emu.invoke("digest list", user=scene.other_admin, guild=scene.other_guild)
    assert "harbour" not in text_of(listed)
    record = await store.get_digest(scene.bot.db, scene.key("harbour"))
    assert record is not None and record.paused_reason is None


# --- the audit trail


async def test_changes_are_audited_and_announced_in_the_log_channel(scene: Scene) -> None:
    await scene.create()
    await scene.run("edit", name="harbour", min_quality=61)
    await scene.run("pause", name="harbour")

    entries = await audit_log.audit_entries(scene.bot.db, target="harbour")
    assert [entry.action for entry in reversed(entries)] == ["digest create", "digest edit", "digest pause"]
    edit = entries[1]
    assert edit.actor_id == int(scene.admin.user.id) and edit.guild_id == int(scene.guild.id)
    assert edit.before["min_quality"] == 40 and edit.after["min_quality"] == 61
    assert edit.outcome == "applied"

    announcements = announced_embeds(scene)
    assert len(announcements) == 3
    assert announcements[1] == {
        "color": NOTICE_COLORS["info"],
        "title": "digest edit · applied",
        "description": "Changed digest harbour. Minimum quality: 40 → 61",
        "fields": [
            {"name": "By", "value": f"<@{scene.admin.user.id}>", "inline": True},
            {"name": "Server", "value": "harbour", "inline": True},
            {"name": "Target", "value": "harbour", "inline": True},
        ],
    }
    posts = scene.emu.requests_to("POST", rf"/channels/{scene.logs.id}/messages")
    assert [post.json["allowed_mentions"] for post in posts] == [{"parse": []}] * 3, "nobody is pinged"


def announced_embeds(scene: Scene) -> list[dict[str, Any]]:
    return [message.embeds[0] for message in scene.emu.channel_messages(scene.logs)]


def announcements_in(scene: Scene) -> list[str]:
    return [embed["title"] + "\n" + embed["description"] for embed in announced_embeds(scene)]


async def test_refusals_are_audited_and_announced_with_the_reason(scene: Scene) -> None:
    config = scene.bot.config
    scene.bot.config = replace(config, limits=replace(config.limits, audit_coalesce_minutes=0))
    bot_role = next(role for role in scene.guild.roles.values() if role.managed)
    closed = scene.emu.add_channel(scene.guild, "closed")
    scene.emu.set_channel_overwrite(closed, Overwrite(bot_role.id, 0, deny=SEND_MESSAGES))
    await scene.create("blocked", channel=closed)
    await scene.run("edit", name="configured", max_articles=2)
    await scene.create()
    await scene.run("pause", name="harbour", reason="quiet week")
    await scene.run("run", name="harbour")

    admin_id, guild_id = int(scene.admin.user.id), int(scene.guild.id)
    refused = [entry for entry in await audit_log.audit_entries(scene.bot.db) if entry.outcome == "refused"]
    assert [(entry.action, entry.target) for entry in reversed(refused)] == [
        ("digest create", "blocked"), ("digest edit", "configured"), ("digest run", "harbour"),
    ]
    assert all(entry.actor_id == admin_id and entry.guild_id == guild_id for entry in refused)
    run, edit, create = refused
    assert "Send Messages" in create.after["reason"] and "**" not in create.after["reason"]
    assert "defined in config.yaml" in edit.after["reason"]
    assert "is paused" in run.after["reason"] and "quiet week" in run.after["reason"]
    assert await store.get_digest(scene.bot.db, scene.key("blocked")) is None

    announced = announcements_in(scene)
    refusals = [text for text in announced if " · refused\n" in text]
    assert len(refusals) == 3 and len(announced) == 5, "create and pause of harbour are announced too"
    assert refusals[0].startswith("digest create · refused\n") and "Send Messages" in refusals[0]
    assert refusals[1].startswith("digest edit · refused\n") and "config.yaml" in refusals[1]
    assert refusals[2].startswith("digest run · refused\n") and "quiet week" in refusals[2]
    who = {"name": "By", "value": f"<@{admin_id}>", "inline": True}
    assert all(who in embed["fields"] for embed in announced_embeds(scene))


async def test_title_style_and_colour_are_set_from_discord_and_a_new_digest_has_a_week_age_limit(
    scene: Scene,
) -> None:
    created = await scene.run("create", name="harbour", channel=scene.news, schedule=DAILY_8,
                              title="Harbour news", style="rich", color="#1F8B4C")
    reply = text_of(created)
    for line in ("Maximum age: 7 days", "Title: Harbour news", "Style: rich", "Colour: #1f8b4c"):
        assert line in reply
    edited = await scene.run("edit", name="harbour", title="-", style="compact")
    assert "Title: Harbour news → from the name" in text_of(edited)
    record = await store.get_digest(scene.bot.db, scene.key("harbour"))
    assert record is not None
    settings = record.settings
    assert (settings.display_title, settings.style, settings.color, settings.max_age_days) == (
        "Harbour", "compact", 0x1F8B4C, 7
    )
