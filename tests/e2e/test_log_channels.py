"""Log channels end to end: each server's business is announced in its own log channel (set with
`/admin settings log-channel`), the operator's bot-wide channel gets bot-wide events, config digests and
home servers without a channel of their own, and no server ever sees another's; names are escaped and
people, channels and roles are mentions that ping nobody. Digest names are unique per server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
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
from bot.permissions import Access, access_of
from bot.render.embeds import NOTICE_COLORS
from bot.render.text import ZERO_WIDTH_SPACE
from bot.store import audit_log
from bot.store import digests as store
from tests.emulator import Emulator, Guild, InteractionResult, Member, running_bot
from tests.emulator.state import MANAGE_GUILD, SEND_MESSAGES, Channel, Overwrite

NOW = datetime(2026, 3, 2, 7, 50, tzinfo=UTC)
DAILY_8 = "0 8 * * *"
EVIL_NAME = "[re-verify the bot token here](https://evil.example) **x**"
EVIL_SHOWN = rf"\[re-verify the bot token here\]\(https:{ZERO_WIDTH_SPACE}//evil.example\) \*\*x\*\*"


@dataclass
class Server:
    guild: Guild
    news: Channel
    log: Channel
    admin: Member


@dataclass
class Scene:
    emu: Emulator
    bot: DigestBot
    ops_log: Channel
    home: Server
    visitors: Server
    third: Server

    async def run(self, server: Server, command: str, **options: Any) -> InteractionResult:
        result = await self.emu.invoke(command, user=server.admin, guild=server.guild, options=options)
        assert result.answered and not result.errors, result.errors
        return result

    async def create(self, server: Server, name: str) -> InteractionResult:
        return await self.run(server, "admin digest create", name=name, channel=server.news, schedule=DAILY_8)

    def announced(self, channel: Channel) -> list[dict[str, Any]]:
        bot_id = self.emu.bot_user.id
        return [m.embeds[0] for m in self.emu.channel_messages(channel) if m.author.id == bot_id]

    def titles(self, channel: Channel) -> list[str]:
        return [embed["title"] for embed in self.announced(channel)]


def write_corpus(folder: Path) -> None:
    folder.mkdir()
    front = {"title": "Harbour story", "webUrl": "https://news.example/story",
             "publishedDateTime": "2026-02-01T09:00:00Z", "quality": 60}
    (folder / "000_0000000000000d00.txt").write_text("---\n" + yaml.safe_dump(front) + "---\n")


def server(emu: Emulator, name: str) -> Server:
    guild = emu.add_guild(name)
    return Server(guild, emu.add_channel(guild, "news"), emu.add_channel(guild, "its-log"),
                  emu.add_member(guild, permissions=MANAGE_GUILD))


@contextlib.asynccontextmanager
async def running_scene(emulator: Emulator, tmp_path: Path, *, home_servers: tuple[str, ...]
                        ) -> AsyncIterator[Scene]:
    """The operator's server `home` (with the bot-wide log channel and a config digest), a server named
    like a masked link, and a third server. `home_servers` names the servers in `discord.guild_ids`
    (commands are synced to those only); none: global mode."""
    write_corpus(tmp_path / "corpus")
    home = server(emulator, "home")
    ops_log = emulator.add_channel(home.guild, "ops-log")
    visitors = server(emulator, EVIL_NAME)
    third = server(emulator, "third")
    configured = digest_settings_from_mapping(
        {"name": "configured", "channel_id": int(home.news.id), "schedule": "0 9 * * *"},
        DigestDefaults(), where="digests[0]", file=None,
    )
    config = Config(
        corpus=CorpusConfig(path=tmp_path / "corpus"),
        database=DatabaseConfig(path=tmp_path / "data" / "digestbot.sqlite3"),
        discord=DiscordConfig(log_channel_id=int(ops_log.id)),
        digests=(configured,),
    )
    servers = {"home": home, "visitors": visitors, "third": third}
    homes = tuple(int(servers[name].guild.id) for name in home_servers)
    config = replace(config, discord=replace(config.discord, guild_ids=homes))
    async with running_bot(create_bot(config, clock=FakeClock(NOW)), emulator) as bot:
        assert bot.failed_extensions == {}
        yield Scene(emulator, bot, ops_log, home, visitors, third)


@pytest.fixture
async def scene(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Scene]:
    """Global mode: no server is a home server."""
    async with running_scene(emulator, tmp_path, home_servers=()) as running:
        yield running


async def eventually(check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + 10
    while not (result := check()):
        assert time.monotonic() < deadline, "the bot did not announce in time"
        await asyncio.sleep(0.02)
    return result


def announcements_field(status: InteractionResult) -> str:
    [value] = [f["value"] for f in status.embeds[0]["fields"] if f["name"] == "Announcements"]
    return str(value)


def reply_text(result: InteractionResult) -> str:
    return "\n".join(embed.get("description", "") for embed in result.embeds)


async def test_a_server_chooses_its_log_channel_and_its_business_never_reaches_anyone_else(
    scene: Scene,
) -> None:
    visitors = scene.visitors
    await scene.create(visitors, "harbour")
    assert scene.announced(visitors.log) == [] and scene.announced(scene.ops_log) == [], (
        "a server that is not a home server and has no log channel of its own is announced nowhere"
    )

    assert announcements_field(await scene.run(visitors, "admin status")) == (
        "nowhere: choose a channel with `/admin settings log-channel`"
    )
    chosen = await scene.run(visitors, "admin settings log-channel", channel=visitors.log)
    assert announcements_field(await scene.run(visitors, "admin status")) == f"<#{visitors.log.id}>"
    assert reply_text(chosen) == (
        f"This server's digest announcements and refusals now go to <#{visitors.log.id}>. "
        "A digest with its own log channel still announces there."
    )
    await scene.create(visitors, "second")
    await scene.run(visitors, "admin digest pause", name="nope")
    await scene.run(scene.third, "admin digest pause", name="harbour")

    assert scene.titles(visitors.log) == [
        "settings log-channel · applied", "digest create · applied", "digest pause · refused",
    ]
    assert scene.announced(scene.ops_log) == []
    assert scene.announced(scene.third.log) == []
    settings_change = scene.announced(visitors.log)[0]
    assert settings_change["description"] == f"Log channel: none → <#{visitors.log.id}>"
    assert {"name": "Server", "value": EVIL_SHOWN, "inline": True} in settings_change["fields"]

    # The operator's own digests (config.yaml) are announced in the bot-wide channel, even when a server
    # admin of the server they post in pauses one; the server's own digests are not.
    await scene.create(scene.home, "local")
    await scene.run(scene.home, "admin digest pause", name="configured")
    assert scene.titles(scene.ops_log) == ["digest pause · applied"]
    assert len(scene.announced(visitors.log)) == 3


async def test_a_home_server_without_a_channel_of_its_own_is_announced_in_the_bot_wide_one(
    emulator: Emulator, tmp_path: Path
) -> None:
    async with running_scene(emulator, tmp_path, home_servers=("home", "third")) as scene:
        await scene.create(scene.third, "harbour")
        await scene.run(scene.third, "admin settings log-channel", channel=scene.third.log)
        await scene.create(scene.third, "second")

        assert scene.titles(scene.ops_log) == ["digest create · applied"]
        assert announcements_field(await scene.run(scene.home, "admin status")) == f"<#{scene.ops_log.id}>"
        assert scene.titles(scene.third.log) == ["settings log-channel · applied", "digest create · applied"]

        cleared = await scene.run(scene.third, "admin settings log-channel")
        assert reply_text(cleared) == (
            "This server has no log channel of its own any more: they go to the bot's own log channel "
            "(this is one of the bot's home servers)."
        )
        assert scene.titles(scene.ops_log) == ["digest create · applied", "settings log-channel · applied"]


async def test_a_pause_names_the_server_escaped_and_the_channel_as_a_mention(scene: Scene) -> None:
    visitors = scene.visitors
    await scene.run(visitors, "admin settings log-channel", channel=visitors.log)
    await scene.create(visitors, "harbour")

    await scene.emu.delete_channel(visitors.news)
    await eventually(lambda: "Digest paused" in scene.titles(visitors.log))

    [paused] = [embed for embed in scene.announced(visitors.log) if embed["title"] == "Digest paused"]
    assert paused == {
        "color": NOTICE_COLORS["warning"],
        "title": "Digest paused",
        "description": (
            f"⏸️ Digest **harbour** is paused: channel {visitors.news.id} \\(#news\\) was deleted. "
            "Fix it, then resume the digest."
        ),
        "fields": [
            {"name": "Channel", "value": f"<#{visitors.news.id}>", "inline": True},
            {"name": "Server", "value": EVIL_SHOWN, "inline": True},
        ],
    }
    assert "](" not in str(paused) and "**x**" not in str(paused), "no live masked link, no bold"
    posts = scene.emu.requests_to("POST", rf"/channels/{visitors.log.id}/messages")
    assert {str(post.json["allowed_mentions"]) for post in posts} == {"{'parse': []}"}
    assert scene.announced(scene.ops_log) == []


async def test_the_settings_commands_apply_the_server_admin_rule_when_they_run(scene: Scene) -> None:
    group = admin_group(scene.bot).get_command("settings")
    assert isinstance(group, app_commands.Group)
    assert {command.name: access_of(command) for command in group.commands} == {"log-channel": Access.GUILD}


async def test_a_log_channel_the_bot_cannot_post_in_is_refused_and_clearing_says_where_it_goes(
    scene: Scene,
) -> None:
    visitors = scene.visitors
    bot_role = next(role for role in visitors.guild.roles.values() if role.managed)
    scene.emu.set_channel_overwrite(visitors.log, Overwrite(bot_role.id, 0, deny=SEND_MESSAGES))

    refused = await scene.run(visitors, "admin settings log-channel", channel=visitors.log)
    assert reply_text(refused) == (
        f"Not changed. I can't announce in <#{visitors.log.id}>: I'm missing **Send Messages**, "
        "**Embed Links** there. Grant them to my role in that channel's permissions, then try again."
    )
    [entry] = await audit_log.audit_entries(scene.bot.db, guild_id=int(visitors.guild.id))
    assert (entry.action, entry.outcome) == ("settings log-channel", "refused")

    await scene.run(scene.home, "admin settings log-channel", channel=scene.home.log)
    cleared = await scene.run(scene.home, "admin settings log-channel")
    assert reply_text(cleared) == (
        "This server has no log channel of its own any more: they are not announced in any channel "
        "(digests with their own log channel still announce there)."
    )
    away = await scene.run(scene.third, "admin settings log-channel")
    assert reply_text(away) == "Nothing changed: this server's log channel is already none."


async def test_names_are_unique_per_server_and_another_servers_digest_answers_as_unknown(
    scene: Scene,
) -> None:
    await scene.create(scene.visitors, "morning")

    for other in (scene.third, scene.home):
        created = await scene.create(other, "morning")
        assert reply_text(created).startswith("Created digest **morning**."), "the name is free elsewhere"
    taken = await scene.create(scene.home, "configured")
    assert "already exists in this server (config.yaml)" in reply_text(taken).replace("\\", "")
    in_visitors = await scene.create(scene.visitors, "configured")
    assert reply_text(in_visitors).startswith("Created digest **configured**."), (
        "the config digest posts in the home server, not here"
    )

    keys = sorted(record.key for record in await store.list_digests(scene.bot.db) if record.name == "morning")
    assert keys == sorted(f"{s.guild.id}/morning" for s in (scene.home, scene.visitors, scene.third))

    only_visitors = await scene.run(scene.third, "admin digest pause", name="configured")
    nobody = await scene.run(scene.third, "admin digest pause", name="nothing")
    assert reply_text(only_visitors) == reply_text(nobody).replace("nothing", "configured")
    assert await store.get_digest(scene.bot.db, f"{scene.visitors.guild.id}/configured") is not None


async def test_when_a_config_digest_shares_a_name_with_a_servers_own_the_servers_own_is_managed_there(
    scene: Scene,
) -> None:
    home = scene.home
    # Created before the config digest's server was known (say config.yaml gained it later).
    configured = next(r for r in await store.list_digests(scene.bot.db) if r.key == "configured")
    await store.set_guild(scene.bot.db, "configured", None)
    own = await store.create_digest(scene.bot.db, configured.settings, guild_id=int(home.guild.id), now=NOW)

    await scene.run(home, "admin digest pause", name="configured")

    both = {r.key: r for r in await store.list_digests(scene.bot.db) if r.name == "configured"}
    assert {key: (r.guild_id, r.paused) for key, r in both.items()} == {
        "configured": (int(home.guild.id), False), own.key: (int(home.guild.id), True),
    }
