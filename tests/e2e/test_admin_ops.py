"""`/admin reload corpus|config|extension`, `/admin status`, the corpus watcher and the audit trail, end to
end through the emulator: who may do what, what each reload changes (and refuses), and what gets recorded."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import __version__
from bot import delivery as delivery_module
from bot.clock import FakeClock
from bot.config import load_config
from bot.discord.client import DigestBot, create_bot
from bot.discord.cogs.admin_ops import WAITING_FOR_DELIVERY
from bot.store import articles as article_store
from bot.store import audit_log, runs
from bot.store import digests as store
from tests.emulator import CommandUnavailable, Emulator, Member, running_bot
from tests.emulator.state import MANAGE_GUILD

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
EVENT_TIMEOUT = 5.0
SEED_FILE = "000_4f079d8d5eeb6983.txt"
SEED_TITLE = "New Orleans Mayor OKs Police Use of Facial Recognition Technology"


def article_text(title: str, url: str, *, published: str = "2024-05-01T10:00:00Z") -> str:
    return f'---\ntitle: "{title}"\nwebUrl: "{url}"\npublishedDateTime: {published}\nquality: 70\n---\n'


async def eventually(check: Callable[[], Any]) -> Any:
    """Wait for something the bot does in the background (an announcement, a watched reload); `check`
    returns (or, when async, resolves to) something truthy once it happened."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("the bot did not react in time")
        await asyncio.sleep(0.02)


class World:
    """One test's emulator, corpus folder, config file, database, clock and people."""

    def __init__(self, emu: Emulator, tmp_path: Path, state_url: str | None) -> None:
        self.emu = emu
        self.corpus = tmp_path / "corpus"
        shutil.copytree(SEEDS, self.corpus)
        self.db_path = tmp_path / "data" / "digestbot.sqlite3"
        self.config_path = tmp_path / "config.yaml"
        self.clock = FakeClock(datetime(2026, 6, 1, 7, 30, tzinfo=UTC))
        self.operator = emu.add_user("operator")
        emu.set_owner(self.operator)
        self.guild = emu.add_guild("newsroom", owner=self.operator)
        self.general = next(iter(self.guild.channels.values()))
        self.log_channel = emu.add_channel(self.guild, "bot-log")
        self.server_admin: Member = emu.add_member(self.guild, permissions=MANAGE_GUILD)
        self.member: Member = emu.add_member(self.guild)
        self.document: dict[str, Any] = {
            "corpus": {"path": str(self.corpus)},
            "database": {"path": str(self.db_path), "url": state_url},
            "discord": {"guild_ids": [int(self.guild.id)], "log_channel_id": int(self.log_channel.id)},
        }

    def write_config(self, document: dict[str, Any] | None = None) -> None:
        if document is not None:
            self.document = document
        self.config_path.write_text(yaml.safe_dump(self.document), encoding="utf-8")

    def digest(self, name: str, schedule: str) -> dict[str, Any]:
        return {"name": name, "channel_id": int(self.general.id), "schedule": schedule}

    @contextlib.asynccontextmanager
    async def bot(self) -> AsyncIterator[DigestBot]:
        self.write_config()
        config = load_config(self.config_path, env={})
        async with running_bot(create_bot(config, clock=self.clock), self.emu) as bot:
            await store.sync_config_digests(bot.db, config.digests, now=self.clock())
            await bot.digest_scheduler.refresh()
            yield bot

    async def invoke(self, command: str, user: Any, **options: Any) -> Any:
        return await self.emu.invoke(command, user=user, guild=self.guild, options=options)

    def announcements(self) -> list[str]:
        """Each announcement as text: its title, description and field values, one a line."""
        return [
            "\n".join([embed["title"], embed["description"], *(f["value"] for f in embed.get("fields", []))])
            for message in self.emu.channel_messages(self.log_channel)
            if message.author.id == self.emu.bot_user.id and message.embeds
            for embed in message.embeds[:1]
        ]


@pytest.fixture
def world(emulator: Emulator, tmp_path: Path, state_url: str | None) -> World:
    return World(emulator, tmp_path, state_url)


def text_of(result: Any) -> str:
    """Everything the invoking user sees: content, embed descriptions, field names and values, footers."""
    parts = [result.content or ""]
    for embed in result.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{field['name']}\n{field['value']}" for field in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(parts)


async def article_count(bot: DigestBot) -> int:
    return (await article_store.corpus_stats(bot.db)).articles


async def audits(bot: DigestBot) -> list[audit_log.AuditEntry]:
    return list(reversed(await audit_log.audit_entries(bot.db, limit=200)))


# --- who may do what ----------------------------------------------------------------------------------


async def test_every_admin_command_works_for_an_operator_and_a_server_admin_and_is_hidden_from_a_member(
    world: World,
) -> None:
    async with world.bot():
        for user in (world.operator, world.server_admin):
            status = await world.invoke("admin status", user)
            assert status.ephemeral and "Bot status" in text_of(status)
            corpus = await world.invoke("admin reload corpus", user)
            assert corpus.ephemeral and "Corpus reloaded" in text_of(corpus)
            config = await world.invoke("admin reload config", user)
            assert "nothing changed" in text_of(config)

        reloaded = await world.invoke("admin reload extension", world.operator, name="bot.discord.cogs.about")
        assert "Reloaded `bot.discord.cogs.about`" in text_of(reloaded)
        refused = await world.invoke(
            "admin reload extension", world.server_admin, name="bot.discord.cogs.about"
        )
        assert refused.ephemeral and "Only the bot's operators" in text_of(refused)

        for command, options in (
            ("admin status", {}),
            ("admin reload corpus", {}),
            ("admin reload config", {}),
            ("admin reload extension", {"name": "bot.discord.cogs.about"}),
        ):
            with pytest.raises(CommandUnavailable):
                await world.invoke(command, world.member, **options)


async def test_in_global_mode_a_server_admin_who_is_no_operator_is_refused_a_bot_wide_reload(
    world: World,
) -> None:
    world.document["discord"]["guild_ids"] = []
    async with world.bot() as bot:
        before = await article_count(bot)
        (world.corpus / "new.md").write_text(article_text("Fresh news", "https://example.org/fresh"))
        result = await world.invoke("admin reload corpus", world.server_admin)
        assert result.ephemeral
        assert "Only operators or server admins of the bot's home servers" in text_of(result)
        assert await article_count(bot) == before
        config = await world.invoke("admin reload config", world.server_admin)
        assert "Only operators" in text_of(config)

        entries = await eventually(lambda: _refusals(bot))
        assert {entry.action for entry in entries} == {"reload corpus", "reload config"}
        assert all(entry.actor_id == int(world.server_admin.user.id) for entry in entries)
        assert all(entry.guild_id == int(world.guild.id) for entry in entries)
        # One member's refusals within minutes share one post, which counts them.
        await eventually(lambda: any("**2 refused attempts**" in a for a in world.announcements()))
        assert len([a for a in world.announcements() if "refused" in a]) == 1

        status = await world.invoke("admin status", world.server_admin)
        assert "Bot status" in text_of(status)


async def _refusals(bot: DigestBot) -> list[audit_log.AuditEntry]:
    entries = [entry for entry in await audits(bot) if entry.outcome == "refused"]
    return entries if len(entries) == 2 else []


# --- reload corpus ------------------------------------------------------------------------------------


async def test_reload_corpus_applies_added_changed_and_deleted_files_and_lookups_see_it_at_once(
    world: World,
) -> None:
    async with world.bot() as bot:
        assert await article_count(bot) == 5
        (
            world.corpus / "zebra.md").write_text(article_text("Zebra migration tracked", "https://example.org/z")
        )
        seed = world.corpus / SEED_FILE
        seed.write_text(seed.read_text().replace(SEED_TITLE, "Harbour city approves camera plan"))
        (world.corpus / "001_f49c33e8b2a4a914.txt").unlink()

        result = await world.invoke("admin reload corpus", world.operator)
        text = text_of(result)
        assert "1 added, 1 updated, 1 removed, 3 unchanged, 0 rejected" in text
        assert "5 articles in service" in text
        assert result.attachments == []

        found = await world.invoke("search", world.member, query="zebra")
        assert "Zebra migration tracked" in text_of(found)
        changed = await world.invoke("search", world.member, query="harbour camera")
        assert "Harbour city approves camera plan" in text_of(changed)

        entry = (await audits(bot))[-1]
        assert (entry.action, entry.outcome, entry.actor_id) == (
            "reload corpus", "applied", int(world.operator.id)
        )
        assert entry.before == {"articles": 5}
        assert (entry.after["added"], entry.after["updated"], entry.after["removed"]) == (1, 1, 1)
        await eventually(lambda: any("reload corpus" in a for a in world.announcements()))


async def test_a_broken_file_is_rejected_the_rest_applied_and_its_last_good_version_still_served(
    world: World,
) -> None:
    async with world.bot() as bot:
        (world.corpus / SEED_FILE).write_text("---\ntitle: [\n---\n")
        (
            world.corpus / "zebra.md").write_text(article_text("Zebra migration tracked", "https://example.org/z")
        )
        result = await world.invoke("admin reload corpus", world.operator)
        text = text_of(result)
        assert "1 added" in text and "1 rejected" in text
        assert f"`{SEED_FILE}`" in text and "last good version stays in service" in text
        assert await article_count(bot) == 6
        served = await world.invoke("search", world.member, query="facial recognition New Orleans")
        assert "New Orleans Mayor OKs Police" in text_of(served)


async def test_an_emptied_folder_is_refused_without_force_and_applied_with_it(world: World) -> None:
    async with world.bot() as bot:
        for path in world.corpus.iterdir():
            path.unlink()
        refused = await world.invoke("admin reload corpus", world.operator)
        assert "The corpus was not reloaded" in text_of(refused)
        assert "force: True" in text_of(refused)
        assert await article_count(bot) == 5

        forced = await world.invoke("admin reload corpus", world.operator, force=True)
        assert "Corpus reloaded (forced)" in text_of(forced) and "5 removed" in text_of(forced)
        assert await article_count(bot) == 0
        outcomes = [(entry.outcome, entry.after.get("forced")) for entry in await audits(bot)]
        assert outcomes[-2:] == [("refused", None), ("applied", True)]


async def test_removing_more_than_half_is_refused_and_a_missing_folder_always_is(world: World) -> None:
    async with world.bot() as bot:
        for name in sorted(p.name for p in world.corpus.iterdir())[:3]:
            (world.corpus / name).unlink()
        refused = await world.invoke("admin reload corpus", world.operator)
        assert "would remove 3 of the 5 articles" in text_of(refused)
        assert await article_count(bot) == 5

        shutil.rmtree(world.corpus)
        missing = await world.invoke("admin reload corpus", world.operator, force=True)
        assert "does not exist" in text_of(missing) and "force: True" not in text_of(missing)
        assert await article_count(bot) == 5


async def test_more_than_ten_rejected_files_come_as_an_attached_report(world: World) -> None:
    async with world.bot():
        for index in range(12):
            (world.corpus / f"broken-{index:02}.md").write_text("no front matter at all\n")
        result = await world.invoke("admin reload corpus", world.operator)
        text = text_of(result)
        assert "Rejected files (12) — first 10" in text
        assert "attached load report" in text
        names = sorted(attachment.filename for attachment in result.attachments)
        assert names == ["load-report.json", "load-report.txt"]


NEWCOMER_URL = "https://example.org/2026/06/01/harbour-newcomer"


def newcomer_text() -> str:
    """An article that, once loaded, leads any digest composed after the load."""
    return (
        '---\ntitle: "Harbour newcomer leads the day"\n'
        f'webUrl: "{NEWCOMER_URL}"\npublishedDateTime: 2026-06-01T07:00:00Z\nquality: 99\nheat: 99\n'
        "provider:\n  name: Example\n  domain: example.org\n---\n"
    )


def wide_digest(world: World) -> dict[str, Any]:
    return {**world.digest("morning", "0 8 * * *"), "min_quality": 0, "max_articles": 10, "backlog": 10}


def posted_digest(world: World) -> str:
    """Everything the bot posted in the digest's channel, as one text."""
    return str([(m.content, m.embeds) for m in world.emu.channel_messages(world.general)
                if m.author.id == world.emu.bot_user.id])


async def test_a_reload_waits_for_a_digest_delivery_in_progress_and_applies_after_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.document["digests"] = [wide_digest(world)]
    async with world.bot() as bot:
        runner = delivery_module.runner_of(bot)
        retry_allowed = asyncio.Event()

        async def retry_wait(_seconds: float) -> None:
            await retry_allowed.wait()

        runner.policy = delivery_module.DeliveryPolicy(sleep=retry_wait)
        # Discord is slow to take the digest: a delayed 503, then the retry waits until the test allows it.
        world.emu.inject("POST", rf"/channels/{world.general.id}/messages", status=503, delay=0.2, times=1)
        articles_when_delivery_finished: list[int] = []
        finish_run = runs.finish_run

        async def finish_run_counting(*args: Any, **kwargs: Any) -> Any:
            articles_when_delivery_finished.append(await article_count(bot))
            return await finish_run(*args, **kwargs)

        monkeypatch.setattr(runs, "finish_run", finish_run_counting)
        (world.corpus / "newcomer.md").write_text(newcomer_text())

        delivery = asyncio.create_task(runner.run_now("morning", actor=None))
        await eventually(lambda: bot.corpus_gate.deliveries_in_progress == 1)
        invocation = asyncio.create_task(world.invoke("admin reload corpus", world.operator))

        def waiting() -> bool:
            return any(
                WAITING_FOR_DELIVERY in (embed.get("description") or "")
                for message in world.emu.world.messages.values()
                for embed in message.embeds
            )

        await eventually(waiting)
        assert not delivery.done() and await article_count(bot) == 5
        retry_allowed.set()
        outcome = await delivery
        result = await invocation

    assert outcome.status == "posted"
    assert articles_when_delivery_finished == [5], "the reload applied before the delivery finished"
    assert "1 added" in text_of(result)
    assert NEWCOMER_URL not in posted_digest(world)


async def test_a_delivery_starting_during_a_reload_waits_for_it_and_sends_the_new_corpus(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.document["digests"] = [wide_digest(world)]
    async with world.bot() as bot:
        load_started, load_may_finish = asyncio.Event(), asyncio.Event()
        admin_ops = sys.modules["bot.discord.cogs.admin_ops"]  # the module the bot loaded as an extension
        load_corpus = admin_ops.load_corpus

        async def slow_load(*args: Any, **kwargs: Any) -> Any:
            load_started.set()
            await load_may_finish.wait()
            return await load_corpus(*args, **kwargs)

        monkeypatch.setattr(admin_ops, "load_corpus", slow_load)
        (world.corpus / "newcomer.md").write_text(newcomer_text())
        invocation = asyncio.create_task(world.invoke("admin reload corpus", world.operator))
        await load_started.wait()
        assert bot.corpus_gate.reloading_now

        delivery = asyncio.create_task(delivery_module.runner_of(bot).run_now("morning", actor=None))
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not delivery.done() and bot.corpus_gate.deliveries_in_progress == 0
        assert world.emu.requests_to("POST", rf"/channels/{world.general.id}/messages") == []
        load_may_finish.set()
        result = await invocation
        outcome = await delivery

    assert "1 added" in text_of(result)
    assert outcome.status == "posted"
    assert NEWCOMER_URL in posted_digest(world), "the delivery composed its plan before the reload applied"


# --- reload config ------------------------------------------------------------------------------------


async def test_an_invalid_config_changes_nothing_and_the_reply_names_the_key(world: World) -> None:
    async with world.bot() as bot:
        config = bot.config
        world.document["lookups"] = {"cooldown_uses": "many"}
        world.write_config()
        result = await world.invoke("admin reload config", world.operator)
        text = text_of(result)
        assert "not reloaded" in text and "nothing changed" in text
        assert "`lookups.cooldown_uses`" in text and "expected an integer" in text
        assert bot.config is config
        entry = (await audits(bot))[-1]
        assert (entry.action, entry.outcome) == ("reload config", "refused")
        assert "lookups.cooldown_uses" in entry.after["error"]


async def test_reload_config_applies_live_settings_and_reports_restart_and_sync_ones(world: World) -> None:
    async with world.bot() as bot:
        other = world.emu.add_guild("second")
        world.document["lookups"] = {"cooldown_uses": 2}
        world.document["logging"] = {"level": "DEBUG"}
        world.document["discord"]["admin_user_ids"] = [int(world.server_admin.user.id)]
        world.document["discord"]["guild_ids"] = [int(world.guild.id), int(other.id)]
        world.document["database"]["path"] = str(world.db_path.with_name("elsewhere.sqlite3"))
        world.write_config()
        previous_level = bot_level()
        try:
            result = await world.invoke("admin reload config", world.operator)
            text = text_of(result)
            assert "`lookups.cooldown_uses`: 5 → 2" in text
            assert "`discord.admin_user_ids`: none →" in text
            assert "Needs a restart" in text and "`database.path`" in text
            assert "run `/admin sync`" in text
            assert bot.config.lookups.cooldown_uses == 2
            assert bot.config.database.path == world.db_path
            assert bot_level() == "DEBUG"
        finally:
            logging.getLogger().setLevel(previous_level)
        # the server admin is now an operator too, and may use an operator-only command at once
        now_operator = await world.invoke(
            "admin reload extension", world.server_admin, name="bot.discord.cogs.about"
        )
        assert "Reloaded" in text_of(now_operator)


def bot_level() -> str:
    return logging.getLevelName(logging.getLogger().level)


async def test_a_schedule_change_in_the_config_moves_the_next_run(world: World) -> None:
    world.document["digests"] = [world.digest("morning", "0 8 * * *")]
    async with world.bot() as bot:
        before = await world.invoke("admin status", world.server_admin)
        assert "**morning**" in text_of(before)
        eight = int(datetime(2026, 6, 1, 8, 0, tzinfo=UTC).timestamp())
        assert f"next run <t:{eight}:f>" in text_of(before)

        world.document["digests"] = [
            world.digest("morning", "30 9 * * *"), world.digest("evening", "0 18 * * *")
        ]
        world.write_config()
        result = await world.invoke("admin reload config", world.operator)
        text = text_of(result)
        assert "digest `morning` changed (schedule)" in text
        assert "digest `evening` added" in text

        after = await world.invoke("admin status", world.server_admin)
        half_past_nine = int(datetime(2026, 6, 1, 9, 30, tzinfo=UTC).timestamp())
        assert f"next run <t:{half_past_nine}:f>" in text_of(after)
        assert "**evening**" in text_of(after)
        stored = {record.name: record.settings.schedule for record in await store.list_digests(bot.db)}
        assert stored == {"morning": "30 9 * * *", "evening": "0 18 * * *"}
        alarms = {job.id: job.next_run_time for job in bot.digest_scheduler._scheduler.get_jobs()}
        assert "digest:evening" in alarms
        assert alarms["digest:morning"].astimezone(UTC).hour == 9


# --- reload extension ---------------------------------------------------------------------------------


@pytest.fixture
def sample_extension(tmp_path: Path) -> Iterator[Path]:
    """A throwaway extension module on sys.path whose code the test can rewrite."""
    folder = tmp_path / "extensions"
    folder.mkdir()
    module = folder / "sample_cog.py"
    module.write_text(_sample_cog("first"))
    sys.path.insert(0, str(folder))
    try:
        yield module
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("sample_cog", None)


def _sample_cog(version: str, *, broken: bool = False) -> str:
    failure = "raise RuntimeError('the new code is broken')\n" if broken else ""
    return (
        "from discord.ext import commands\n"
        f"{failure}"
        "class Sample(commands.Cog):\n"
        f"    version = {version!r}\n"
        "async def setup(bot):\n"
        "    await bot.add_cog(Sample())\n"
    )


async def test_a_failed_extension_reload_keeps_the_old_code_and_names_the_error(
    world: World, sample_extension: Path
) -> None:
    async with world.bot() as bot:
        await bot.load_extension("sample_cog")
        choices = await world.emu.autocomplete(
            "admin reload extension", focused="name", value="sample", user=world.operator, guild=world.guild
        )
        assert [choice["value"] for choice in choices] == ["sample_cog"]

        sample_extension.write_text(_sample_cog("second", broken=True) + "# broken\n")
        failed = await world.invoke("admin reload extension", world.operator, name="sample_cog")
        assert "was not reloaded" in text_of(failed) and "the new code is broken" in text_of(failed)
        assert bot.get_cog("Sample").version == "first"

        sample_extension.write_text(_sample_cog("second") + "# fixed\n")
        fixed = await world.invoke("admin reload extension", world.operator, name="sample_cog")
        assert "Reloaded `sample_cog`" in text_of(fixed)
        assert bot.get_cog("Sample").version == "second"
        outcomes = [(e.action, e.target, e.outcome) for e in await audits(bot)]
        assert outcomes[-2:] == [
            ("reload extension", "sample_cog", "failed"), ("reload extension", "sample_cog", "applied")
        ]


async def test_reloading_the_admin_extension_keeps_every_admin_subcommand(world: World) -> None:
    async with world.bot() as bot:
        before = sorted(command.name for command in bot.tree.get_command("admin").commands)
        result = await world.invoke("admin reload extension", world.operator, name="bot.discord.cogs.admin")
        assert "Reloaded `bot.discord.cogs.admin`" in text_of(result)
        after = sorted(command.name for command in bot.tree.get_command("admin").commands)
        assert after == before
        status = await world.invoke("admin status", world.operator)
        assert "Bot status" in text_of(status)


# --- status -------------------------------------------------------------------------------------------


async def test_status_shows_version_corpus_database_and_this_servers_digests(world: World) -> None:
    other = world.emu.add_guild("elsewhere")
    other_channel = next(iter(other.channels.values()))
    world.document["digests"] = [
        world.digest("morning", "0 8 * * *"),
        world.digest("paused-one", "0 12 * * *"),
        {"name": "foreign", "channel_id": int(other_channel.id), "schedule": "0 9 * * *"},
    ]
    async with world.bot() as bot:
        await store.set_paused(bot.db, "paused-one", "channel 42 was deleted", now=world.clock())
        result = await world.invoke("admin status", world.server_admin)
        text = text_of(result)
        assert __version__ in text
        assert "5 articles" in text and "last load #1" in text
        assert "Database" in text and ("KiB" in text or "MiB" in text)
        assert "**morning**" in text and "not run yet" in text
        assert "paused" in text and "channel 42 was deleted" in text
        assert "foreign" not in text
        assert "This server's digests (2, 1 paused)" in text
        assert not [entry for entry in await audits(bot) if entry.action == "status"]


# --- watching the corpus folder -----------------------------------------------------------------------


async def test_watch_mode_turns_a_burst_of_writes_into_one_reload(world: World) -> None:
    world.document["corpus"].update(watch=True, watch_debounce_seconds=0.3)
    async with world.bot() as bot:
        for index in range(5):
            (world.corpus / f"burst-{index}.md").write_text(
                article_text(f"Burst story {index}", f"https://example.org/burst/{index}")
            )

        async def watched() -> list[audit_log.AuditEntry]:
            return [entry for entry in await audits(bot) if entry.action == "reload corpus (watch)"]

        entries = await eventually(watched)
        assert len(entries) == 1
        assert entries[0].after["added"] == 5 and entries[0].actor_id is None
        assert await article_count(bot) == 10
        await eventually(lambda: any("the bot (automatic)" in a for a in world.announcements()))


async def test_a_refused_watched_reload_is_logged_and_announced_never_forced(world: World) -> None:
    world.document["corpus"].update(watch=True, watch_debounce_seconds=0.2)
    async with world.bot() as bot:
        for path in world.corpus.iterdir():
            path.unlink()

        async def refused() -> list[audit_log.AuditEntry]:
            return [entry for entry in await audits(bot) if entry.outcome == "refused"]

        entries = await eventually(refused)
        assert entries[0].action == "reload corpus (watch)"
        assert await article_count(bot) == 5
        await eventually(lambda: any("no \\*.txt" in a for a in world.announcements()))
