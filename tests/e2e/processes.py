"""`digestbot run` as a child process against the emulator of the test's process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from bot.config import Config

ROOT = Path(__file__).resolve().parents[2]
# How long a subprocess gets to come up or go down against the emulator before the test gives up.
PROCESS_TIMEOUT = 30.0


def write_config(path: Path, config: Config, api_base: str, *, logging: dict[str, Any] | None = None) -> Path:
    document = {
        "corpus": {"path": str(config.corpus.path)},
        "database": {"path": str(config.database.path)},
        "discord": {"api_base": api_base, "guild_ids": list(config.discord.guild_ids)},
        "logging": logging or {"level": "DEBUG"},
    }
    path.write_text(json.dumps(document))
    return path


async def start_process(
    config_path: Path, token: str, heartbeat: Path, *extra: str
) -> asyncio.subprocess.Process:
    """`digestbot run` in a child process, against the emulator of this process."""
    env = {**os.environ, "DISCORD_TOKEN": token, "DIGESTBOT_HEARTBEAT": str(heartbeat)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config_path), *extra, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def wait_for_file(path: Path, process: asyncio.subprocess.Process) -> None:
    async def appeared() -> None:
        while not path.exists():
            if process.returncode is not None:
                raise AssertionError(f"the bot exited with {process.returncode} before writing {path}")
            await asyncio.sleep(0.05)

    await asyncio.wait_for(appeared(), PROCESS_TIMEOUT)
