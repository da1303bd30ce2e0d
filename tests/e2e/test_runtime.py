"""The bot runtime end to end: start-up and command sync, /about, /admin sync, the error handler, tokens,
the heartbeat and a SIGTERM shutdown, all against the loopback Discord emulator."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import signal
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.config import Config, CorpusConfig, DatabaseConfig
from bot.discord.client import DigestBot, create_bot
from bot.discord.cogs.admin import admin_group
from bot.discord.runtime import run_bot
from bot.discord.ui.errors import SOMETHING_WENT_WRONG, ReportingView
from bot.logs import REDACTED, setup_logging
from bot.ops.health import check_health
from tests.e2e.processes import PROCESS_TIMEOUT, ROOT, start_process, wait_for_file, write_config
from tests.emulator import CommandUnavailable, Emulator, Guild, running_bot
from tests.emulator.state import MANAGE_GUILD

SEEDS = ROOT / "seeds"
COMMANDS_PUT = r"/applications/\d+(/guilds/\d+)?/commands"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    return Config(
        corpus=CorpusConfig(path=corpus),
        database=DatabaseConfig(path=tmp_path / "data" / "digestbot.sqlite3"),
    )


def with_discord(config: Config, **changes: Any) -> Config:
    return replace(config, discord=replace(config.discord, **changes))


def home(*guilds: Guild) -> tuple[int, ...]:
    return tuple(int(guild.id) for guild in guilds)


def command_names(bot: DigestBot) -> list[str]:
    return sorted(payload["name"] for payload in bot.command_payloads())


def command_puts(emu: Emulator) -> dict[str, list[str]]:
    """Target ("global" or guild id) → names of the commands each sync request sent, in request order."""
    puts: dict[str, list[str]] = {}
    for request in emu.requests_to("PUT", COMMANDS_PUT):
        parts = request.path.split("/")
        target = parts[4] if "guilds" in parts else "global"
        puts[target] = sorted(command["name"] for command in request.json)
    return puts


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# --- start-up and sync --------------------------------------------------------------------------------


async def test_startup_syncs_to_home_guilds_then_skips_an_unchanged_tree(
    emulator: Emulator, config: Config
) -> None:
    guild = emulator.add_guild("home")
    config = with_discord(config, guild_ids=home(guild))

    async with running_bot(create_bot(config), emulator) as bot:
        assert bot.failed_extensions == {}
        assert bot.intents.value == discord.Intents(guilds=True).value
        assert not bot.intents.message_content and not bot.intents.members
        assert bot.application_operator_ids == {int(emulator.world.owner.id)}
        names = command_names(bot)

    assert {"about", "admin"} <= set(names)
    assert command_puts(emulator) == {guild.id: names, "global": []}
    assert sorted(c["name"] for c in emulator.synced_commands(guild)) == names
    assert emulator.synced_commands() == []

    emulator.requests.clear()
    async with running_bot(create_bot(config), emulator):
        pass
    assert command_puts(emulator) == {}
    assert emulator.requests_to("GET", "/users/@me"), "the second start logged in"


async def test_changed_guild_list_syncs_and_clears_the_dropped_guild(
    emulator: Emulator, config: Config
) -> None:
    first, second, third = (emulator.add_guild(name) for name in ("first", "second", "third"))
    async with running_bot(create_bot(with_discord(config, guild_ids=home(first, second))), emulator) as bot:
        names = command_names(bot)
    emulator.requests.clear()

    async with running_bot(create_bot(with_discord(config, guild_ids=home(second, third))), emulator):
        pass

    assert command_puts(emulator) == {first.id: [], second.id: names, third.id: names}
    assert emulator.synced_commands(first) == []


async def test_switching_between_guild_and_global_mode_clears_the_mode_left_behind(
    emulator: Emulator, config: Config
) -> None:
    guild = emulator.add_guild("home")
    async with running_bot(create_bot(with_discord(config, guild_ids=home(guild))), emulator) as bot:
        names = command_names(bot)
    emulator.requests.clear()

    async with running_bot(create_bot(config), emulator):
        pass
    assert command_puts(emulator) == {"global": names, guild.id: []}
    assert emulator.synced_commands(guild) == []
    emulator.requests.clear()

    async with running_bot(create_bot(with_discord(config, guild_ids=home(guild))), emulator):
        pass
    assert command_puts(emulator) == {guild.id: names, "global": []}
    assert emulator.synced_commands() == []


async def test_force_sync_syncs_an_unchanged_tree(emulator: Emulator, config: Config) -> None:
    async with running_bot(create_bot(config), emulator):
        pass
    emulator.requests.clear()
    async with running_bot(create_bot(config, force_sync=True), emulator) as bot:
        names = command_names(bot)
    assert command_puts(emulator) == {"global": names}


async def test_a_failing_extension_is_recorded_and_blocks_the_sync(
    emulator: Emulator, config: Config, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    extensions = ["bot.discord.cogs.admin", "bot.discord.cogs.no_such_cog", "bot.discord.cogs.about"]
    monkeypatch.setattr("bot.discord.client.EXTENSIONS", extensions)
    async with running_bot(create_bot(config), emulator) as bot:
        assert set(bot.failed_extensions) == {"bot.discord.cogs.no_such_cog"}
        assert bot.get_cog("About") is not None, "the extensions after the failing one still load"
    assert command_puts(emulator) == {}
    messages = [record.getMessage() for record in caplog.records]
    assert any("not syncing" in message and "bot.discord.cogs.no_such_cog" in message for message in messages)


async def test_startup_survives_a_broken_corpus_file(
    emulator: Emulator, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    (config.corpus.path / "broken.txt").write_text("---\ntitle: [unclosed\n---\nbody\n")
    async with running_bot(create_bot(config), emulator) as bot:
        assert bot.is_ready()
    assert any("rejected at start-up: broken.txt" in record.getMessage() for record in caplog.records)


async def test_startup_survives_a_missing_corpus_folder(
    emulator: Emulator, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    config = replace(config, corpus=replace(config.corpus, path=config.corpus.path.parent / "missing"))
    async with running_bot(create_bot(config), emulator) as bot:
        assert bot.is_ready()
    assert any("corpus not refreshed" in record.getMessage() for record in caplog.records)


async def test_api_base_takes_the_gateway_from_that_base(emulator: Emulator, config: Config) -> None:
    config = with_discord(config, api_base=emulator.base_url)
    async with running_bot(create_bot(config), emulator) as bot:
        assert bot.is_ready()
    assert emulator.requests_to("GET", "/gateway/bot")


# --- /about -------------------------------------------------------------------------------------------


async def test_about_lists_the_corpus_and_only_the_commands_the_caller_may_use(
    emulator: Emulator, config: Config
) -> None:
    guild = emulator.add_guild("home")
    plain = emulator.add_member(guild)
    admin = emulator.add_member(guild, permissions=MANAGE_GUILD)
    async with running_bot(create_bot(with_discord(config, guild_ids=home(guild))), emulator):
        for_plain = await emulator.invoke("about", user=plain, guild=guild)
        for_admin = await emulator.invoke("about", user=admin, guild=guild)

    assert for_plain.ephemeral
    [embed] = for_plain.embeds
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Corpus"].startswith("5 articles")
    assert fields["Reading the ratings"].startswith(
        "**Quality** is the library's 0–100 rating of an article's source and substance: Excellent 80+, "
        "Good 60+, Fair 40+, Basic below 40. **Heat** is how much attention a story is getting right now: "
        "🔥 Hot story (100+), Getting attention (25+)"
    )
    assert "`/about`" in fields["Commands you can use"]
    assert "/admin sync" not in fields["Commands you can use"]
    [admin_embed] = for_admin.embeds
    assert "`/admin sync`" in {f["name"]: f["value"] for f in admin_embed["fields"]}["Commands you can use"]


# --- /admin sync --------------------------------------------------------------------------------------


async def test_admin_sync_as_a_server_admin_of_a_home_guild(emulator: Emulator, config: Config) -> None:
    guild = emulator.add_guild("home")
    admin = emulator.add_member(guild, permissions=MANAGE_GUILD)
    async with running_bot(create_bot(with_discord(config, guild_ids=home(guild))), emulator) as bot:
        names = command_names(bot)
        emulator.requests.clear()
        result = await emulator.invoke("admin sync", user=admin, guild=guild)

    assert result.ephemeral
    [embed] = result.embeds
    assert embed["description"] == (
        f"Synced {len(names)} commands in home (`{guild.id}`).\nCleared the commands globally."
    )
    assert command_puts(emulator) == {guild.id: names, "global": []}


async def test_other_cogs_extend_the_admin_group_and_admin_sync_publishes_them(
    emulator: Emulator, config: Config
) -> None:
    guild = emulator.add_guild("home")
    admin = emulator.add_member(guild, permissions=MANAGE_GUILD)
    extra = app_commands.Group(name="extra", description="Added by another cog")

    @extra.command(name="ping", description="Answers pong")
    async def ping(interaction: discord.Interaction[DigestBot]) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    async with running_bot(create_bot(with_discord(config, guild_ids=home(guild))), emulator) as bot:
        with pytest.raises(CommandUnavailable):
            await emulator.invoke("admin extra ping", user=admin, guild=guild)
        admin_group(bot).add_command(extra)
        await emulator.invoke("admin sync", user=admin, guild=guild)
        result = await emulator.invoke("admin extra ping", user=admin, guild=guild)

    assert result.content == "pong"


async def test_admin_sync_as_an_operator_in_global_mode(emulator: Emulator, config: Config) -> None:
    guild = emulator.add_guild("elsewhere")
    operator = emulator.add_member(guild, emulator.world.owner, permissions=MANAGE_GUILD)
    async with running_bot(create_bot(config), emulator) as bot:
        names = command_names(bot)
        emulator.requests.clear()
        result = await emulator.invoke("admin sync", user=operator, guild=guild)

    [embed] = result.embeds
    assert embed["description"] == f"Synced {len(names)} commands globally."
    assert command_puts(emulator) == {"global": names}


async def test_admin_sync_refuses_a_server_admin_who_is_not_an_operator_in_global_mode(
    emulator: Emulator, config: Config
) -> None:
    guild = emulator.add_guild("elsewhere")
    admin = emulator.add_member(guild, permissions=MANAGE_GUILD)
    async with running_bot(create_bot(config), emulator):
        emulator.requests.clear()
        result = await emulator.invoke("admin sync", user=admin, guild=guild)

    assert result.ephemeral
    [embed] = result.embeds
    assert embed["description"] == (
        "Only operators or server admins of the bot's home servers can force a command sync."
    )
    assert command_puts(emulator) == {}


async def test_admin_is_hidden_from_a_plain_member_and_from_dms(emulator: Emulator, config: Config) -> None:
    guild = emulator.add_guild("home")
    plain = emulator.add_member(guild)
    async with running_bot(create_bot(config), emulator):
        with pytest.raises(CommandUnavailable, match="hidden"):
            await emulator.invoke("admin sync", user=plain, guild=guild)
        with pytest.raises(CommandUnavailable, match="DMs"):
            await emulator.invoke("admin sync", user=emulator.world.owner)
    [admin] = [c for c in emulator.synced_commands() if c["name"] == "admin"]
    assert int(admin["default_member_permissions"]) == MANAGE_GUILD
    assert admin["contexts"] == [0]


# --- the error handler --------------------------------------------------------------------------------


def add_failing_commands(bot: DigestBot) -> None:
    @bot.tree.command(name="explode", description="Fails on purpose")
    async def explode(interaction: discord.Interaction[DigestBot]) -> None:
        raise RuntimeError("kaboom")

    @bot.tree.command(name="explode-later", description="Defers publicly, then fails")
    async def explode_later(interaction: discord.Interaction[DigestBot]) -> None:
        await interaction.response.defer(thinking=True)
        raise RuntimeError("kaboom after deferring")

    @bot.tree.command(name="refuse", description="Always refused")
    @app_commands.check(lambda interaction: False)
    async def refuse(interaction: discord.Interaction[DigestBot]) -> None:
        await interaction.response.send_message("unreachable")

    @bot.tree.command(name="panel", description="A message with a button that fails")
    async def panel(interaction: discord.Interaction[DigestBot]) -> None:
        view = ReportingView()
        button: discord.ui.Button[ReportingView] = discord.ui.Button(label="Break", custom_id="break")

        async def broken(interaction: discord.Interaction[DigestBot]) -> None:
            raise RuntimeError("button kaboom")

        button.callback = broken  # type: ignore[method-assign]
        view.add_item(button)
        await interaction.response.send_message("panel", view=view)

    @bot.tree.command(name="slow-down", description="One use per minute")
    @app_commands.checks.cooldown(1, 60.0)
    async def slow_down(interaction: discord.Interaction[DigestBot]) -> None:
        await interaction.response.send_message("done", ephemeral=True)


async def test_a_failing_command_gets_an_ephemeral_notice_and_a_log_line(
    emulator: Emulator, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    guild = emulator.add_guild("home")
    member = emulator.add_member(guild)
    bot = create_bot(config)
    add_failing_commands(bot)
    async with running_bot(bot, emulator):
        result = await emulator.invoke("explode", user=member, guild=guild)

    assert result.ephemeral
    [embed] = result.embeds
    assert embed["description"] == SOMETHING_WENT_WRONG
    [record] = [r for r in caplog.records if r.name == "bot.discord.ui.errors" and r.levelno == logging.ERROR]
    assert record.getMessage() == f"/explode failed (guild {guild.id}, user {member.user.id})"
    assert record.exc_info is not None and str(record.exc_info[1]) == "kaboom"


async def test_a_failure_after_a_public_deferral_replaces_the_thinking_message(
    emulator: Emulator, config: Config
) -> None:
    guild = emulator.add_guild("home")
    member = emulator.add_member(guild)
    bot = create_bot(config)
    add_failing_commands(bot)
    async with running_bot(bot, emulator):
        result = await emulator.invoke("explode-later", user=member, guild=guild)

    assert result.deferred
    assert result.followups == []
    [embed] = result.embeds
    assert embed["description"] == SOMETHING_WENT_WRONG


async def test_a_failing_view_callback_gets_the_same_treatment(
    emulator: Emulator, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    guild = emulator.add_guild("home")
    member = emulator.add_member(guild)
    bot = create_bot(config)
    add_failing_commands(bot)
    async with running_bot(bot, emulator):
        panel = await emulator.invoke("panel", user=member, guild=guild)
        assert panel.message_id is not None
        clicked = await emulator.click(panel.message_id, "break", user=member)

    assert clicked.ephemeral
    assert clicked.embeds[0]["description"] == SOMETHING_WENT_WRONG
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.discord.ui.errors"]
    assert messages == [f"component break failed (guild {guild.id}, user {member.user.id})"]


async def test_refusals_and_cooldowns_give_their_reason(emulator: Emulator, config: Config) -> None:
    guild = emulator.add_guild("home")
    member = emulator.add_member(guild)
    bot = create_bot(config)
    add_failing_commands(bot)
    async with running_bot(bot, emulator):
        refused = await emulator.invoke("refuse", user=member, guild=guild)
        first = await emulator.invoke("slow-down", user=member, guild=guild)
        second = await emulator.invoke("slow-down", user=member, guild=guild)

    assert refused.ephemeral
    assert refused.embeds[0]["description"] == "You can't use this command here."
    assert first.content == "done"
    assert second.ephemeral
    description = second.embeds[0]["description"]
    assert "Try again in 60 s (<t:" in description and ":R>)" in description


# --- tokens and the process ---------------------------------------------------------------------------


TOKEN_HOME = (
    "put the bot token (Developer Portal → Bot → Reset Token) in the environment: DISCORD_TOKEN=… in .env "
    "for Docker Compose, never in config.yaml"
)


@pytest.mark.parametrize(("value", "state"), [(None, "is not set"), ("", "is empty"), ("  ", "is empty")])
def test_a_missing_or_empty_token_is_a_configuration_error(
    config: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    restore_logging: None, value: str | None, state: str,
) -> None:
    if value is None:
        monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    else:
        monkeypatch.setenv("DISCORD_TOKEN", value)
    assert run_bot(config) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"digestbot: DISCORD_TOKEN {state}; {TOKEN_HOME}"]


def test_the_token_is_redacted_from_every_log_record(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    token = "secret.token-value"
    interaction_token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OnNlY3JldA"
    setup_logging("DEBUG", token=token, libraries="DEBUG")
    logging.getLogger("discord.http").debug("sending Authorization: Bot %s", token)
    logging.getLogger("discord.gateway").debug(
        "WebSocket Event: %s", {"t": "INTERACTION_CREATE", "d": {"id": "1", "token": interaction_token}}
    )
    logging.getLogger("discord.http").debug(
        "POST https://discord.com/api/v10/interactions/1/%s/callback has returned 204", interaction_token
    )
    logging.getLogger("discord.http").debug(
        "PATCH https://discord.com/api/v10/webhooks/2/%s/messages/@original", interaction_token
    )
    logging.getLogger("aiosqlite").debug(
        "executing %s", ("INSERT INTO files VALUES (?)", ['{"title":"t","secured":"SECURED-MARKER"}'])
    )
    try:
        raise RuntimeError(f"request failed for {token}")
    except RuntimeError:
        logging.getLogger("bot.discord.client").exception("failure")
    err = capsys.readouterr().err
    assert token not in err and interaction_token not in err and "SECURED-MARKER" not in err
    assert f"Authorization: Bot {REDACTED}" in err
    assert f"RuntimeError: request failed for {REDACTED}" in err
    assert f"/interactions/1/{REDACTED}/callback" in err and f"/webhooks/2/{REDACTED}/messages" in err
    assert "'token': '[redacted]'" in err and '"secured":"[redacted]"' in err


def test_library_loggers_stay_at_info_when_ours_are_at_debug(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    setup_logging("DEBUG", token=None)
    for name in ("discord.gateway", "aiosqlite", "asyncio", "apscheduler.scheduler"):
        logging.getLogger(name).debug("%s debug line", name)
        logging.getLogger(name).info("%s info line", name)
    logging.getLogger("bot.discord.client").debug("our debug line")
    err = capsys.readouterr().err
    assert "debug line" not in err.replace("our debug line", "")
    assert "our debug line" in err and err.count("info line") == 4


async def test_rejected_token_exits_2_with_one_line_and_never_logs_the_token(
    emulator: Emulator, config: Config, tmp_path: Path
) -> None:
    token = "not-the-right-token.abcdef"
    process = await start_process(write_config(tmp_path / "config.yaml", config, emulator.base_url), token,
                                  tmp_path / "heartbeat.json")
    _, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    text = stderr.decode()

    assert process.returncode == 2
    assert text.strip().splitlines()[-1] == (
        f"digestbot: Discord rejected the token in DISCORD_TOKEN (401 Unauthorized); {TOKEN_HOME}"
    )
    assert "Traceback" not in text
    assert token not in text


async def test_sigterm_stops_the_process_cleanly_after_a_heartbeat(
    emulator: Emulator, config: Config, tmp_path: Path
) -> None:
    guild = emulator.add_guild("home")
    config = with_discord(config, guild_ids=home(guild))
    heartbeat = tmp_path / "heartbeat.json"
    process = await start_process(write_config(tmp_path / "config.yaml", config, emulator.base_url),
                                  emulator.token, heartbeat)
    try:
        await wait_for_file(heartbeat, process)
        beat = json.loads(heartbeat.read_text())
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    text = stderr.decode()
    assert process.returncode == 0, text
    assert beat["gateway_connected"] is True and beat["database_ok"] is True and beat["stopped"] is False
    last = json.loads(heartbeat.read_text())
    assert last["stopped"] is True and last["pid"] == beat["pid"]
    assert heartbeat.stat().st_mode & 0o777 == 0o600
    assert check_health(heartbeat, now=datetime.now(UTC))[1].startswith("the bot stopped ")
    assert isinstance(beat["latency_ms"], float)
    assert "signal received: shutting down" in text
    assert emulator.token not in text
    assert "Traceback" not in text
    assert {"about", "admin"} <= {c["name"] for c in emulator.synced_commands(guild)}
