"""`digestbot run`: the bot as a long-running process.

The token comes from `DISCORD_TOKEN` (never from the config file). Every failure to start ends the process
with one clear line on stderr, never a traceback: a missing, empty or rejected token is a configuration
error (exit 2, like every configuration error, so a container restart policy need not retry it); an
unreachable Discord or a database that cannot be used exits 1. The database path is examined before
Discord is contacted. SIGINT and SIGTERM stop it cleanly (background work stopped, cogs unloaded, logged
out, database closed, the heartbeat marked stopped) with exit code 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys

import aiohttp
import discord

from bot.config import Config
from bot.discord.client import create_bot
from bot.logs import setup_logging
from bot.store.access import examine
from bot.store.db import DatabaseProblem

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"
TOKEN_HOME = (
    "put the bot token (Developer Portal → Bot → Reset Token) in the environment: DISCORD_TOKEN=… in .env "
    "for Docker Compose, never in config.yaml"
)
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


class StartupFailed(Exception):
    """The bot could not start; the message is the one line the operator sees."""

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


#: Gateway close codes that end the process, with what the operator should do.
GATEWAY_CLOSE_ADVICE = {
    4010: "Discord refused the shard: check discord.shard_ids against discord.shard_count",
    4011: "Discord requires more shards (close code 4011: too many servers on one connection); leave "
          "discord.shard_count unset to use Discord's recommendation, or raise it",
    4012: "Discord refused the gateway version",
    4013: "Discord refused the gateway intents as invalid",
}


def gateway_closed_reason(code: int | None, reason: str | None) -> str:
    """One line for a gateway connection Discord closed for good."""
    advice = GATEWAY_CLOSE_ADVICE.get(code or 0)
    if advice is not None:
        return advice
    return f"Discord closed the gateway connection (code {code}{': ' + reason if reason else ''})"


def _fail(message: str, exit_code: int) -> int:
    print(f"digestbot: {message}", file=sys.stderr, flush=True)
    return exit_code


async def _serve(config: Config, token: str, *, force_sync: bool) -> None:
    """Run the bot until a signal arrives or the connection ends; startup errors become StartupFailed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bot = create_bot(config, force_sync=force_sync)
    try:
        async with bot:
            running = asyncio.create_task(bot.start(token), name="digestbot")
            stopping = asyncio.create_task(stop.wait(), name="digestbot-signal")
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                log.info("signal received: shutting down")
                await bot.close()
                await running
            else:
                stopping.cancel()
                running.result()
    except discord.LoginFailure:
        rejected = f"Discord rejected the token in {TOKEN_ENV} (401 Unauthorized); {TOKEN_HOME}"
        raise StartupFailed(rejected, exit_code=EXIT_CONFIG) from None
    except discord.PrivilegedIntentsRequired as error:
        raise StartupFailed(f"Discord refused the gateway intents: {error}") from None
    except discord.ConnectionClosed as error:
        raise StartupFailed(gateway_closed_reason(error.code, error.reason)) from None
    except (discord.GatewayNotFound, aiohttp.ClientConnectionError) as error:
        raise StartupFailed(f"cannot reach Discord: {error}") from None
    except discord.HTTPException as error:
        detail = error.text or error
        raise StartupFailed(f"Discord answered {error.status} during start-up: {detail}") from None
    except DatabaseProblem as error:
        raise StartupFailed(str(error)) from None
    except sqlite3.Error as error:
        raise StartupFailed(f"database {config.database.path}: {error}") from None
    except OSError as error:
        raise StartupFailed(f"stopped by a system error: {error}") from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run_bot(config: Config, *, force_sync: bool = False, log_level: str | None = None) -> int:
    """Run the bot until SIGINT/SIGTERM; the process exit code (0 after a clean stop, 1 when it could not
    start). `log_level` overrides `logging.level`; `force_sync` syncs commands even if unchanged."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    setup_logging(log_level or config.logging.level, token=token or None, libraries=config.logging.libraries)
    if not token:
        state = "is empty" if TOKEN_ENV in os.environ else "is not set"
        return _fail(f"{TOKEN_ENV} {state}; {TOKEN_HOME}", EXIT_CONFIG)
    try:
        examine(config.database.path, create=True)
        asyncio.run(_serve(config, token, force_sync=force_sync))
    except DatabaseProblem as error:
        return _fail(str(error), EXIT_FAILED)
    except StartupFailed as error:
        return _fail(str(error), error.exit_code)
    log.info("stopped")
    return EXIT_OK
