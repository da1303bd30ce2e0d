"""The bot at DEBUG, libraries included, through the emulator: the whole log never holds the bot token, an
interaction token or a `secured` value."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
from pathlib import Path

import yaml

from bot.config import Config, CorpusConfig, DatabaseConfig, DiscordConfig
from tests.e2e.processes import PROCESS_TIMEOUT, ROOT, start_process, wait_for_file, write_config
from tests.emulator import Emulator

SECURED_MARKER = "SECURED-MARKER-7d1c2e"


def secured_values(corpus: Path) -> list[str]:
    values = []
    for file in sorted(corpus.iterdir()):
        front_matter = file.read_text(encoding="utf-8").split("\n---\n", 1)[0].removeprefix("---\n")
        secured = yaml.safe_load(front_matter).get("secured")
        if secured:
            values.append(secured)
    return values


async def test_a_debug_log_holds_no_token_interaction_token_or_secured_value(
    emulator: Emulator, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    (corpus / "marked.md").write_text(
        "---\ntitle: Harbour cameras switched on\nwebUrl: https://example.com/harbour\n"
        f"publishedDateTime: 2024-05-01T10:00:00Z\nquality: 80\nsecured: \"{SECURED_MARKER}==;x\"\n---\n",
        encoding="utf-8",
    )
    secrets = secured_values(corpus)
    assert len(secrets) == 6 and any(SECURED_MARKER in value for value in secrets)
    guild = emulator.add_guild("home")
    member = emulator.add_member(guild)
    config = Config(
        corpus=CorpusConfig(path=corpus),
        database=DatabaseConfig(path=tmp_path / "data" / "digestbot.sqlite3"),
        discord=DiscordConfig(guild_ids=(int(guild.id),)),
    )
    config_path = write_config(
        tmp_path / "config.yaml", config, emulator.base_url, logging={"level": "DEBUG", "libraries": "DEBUG"}
    )
    heartbeat = tmp_path / "heartbeat.json"
    process = await start_process(config_path, emulator.token, heartbeat, "--log-level", "DEBUG")
    try:
        await wait_for_file(heartbeat, process)
        found = await emulator.invoke("search", user=member, guild=guild, options={"query": "harbour"})
        await emulator.invoke("about", user=member, guild=guild)
        assert found.answered
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    log = stderr.decode()
    interaction_tokens = [record.token for record in emulator.world.interactions.values()]
    assert process.returncode == 0, log[-2000:]
    assert len(interaction_tokens) == 2
    # The log is the libraries' DEBUG output, so the secrets had every chance to appear:
    assert "INTERACTION_CREATE" in log and re.search(r"DEBUG +aiosqlite: executing", log)
    assert "/interactions/" in log and "INSERT INTO articles" in log
    assert emulator.token not in log
    for token in interaction_tokens:
        assert token not in log
    for value in secrets:
        assert value not in log
    assert SECURED_MARKER not in log
