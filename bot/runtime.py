"""`digestbot run`: the bot as a long-running process.

The token comes from `DISCORD_TOKEN` (never from the config file). A missing or rejected token, an
unreachable Discord or a database that cannot be opened ends the process with one clear line on stderr and
exit code 1, never a traceback. SIGINT and SIGTERM stop it cleanly (background work stopped, cogs unloaded,
logged out, database closed) with exit code 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import aiohttp
import discord

from bot.client import create_bot
from bot.config import Config
from bot.logs import setup_logging
from bot.store.db import DatabaseMissing, Fts5Unavailable, MigrationFailed, SchemaTooNew

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_TOKEN"
EXIT_OK = 0
EXIT_FAILED = 1


class StartupFailed(Exception):
    """The bot could not start; the message is the one line the operator sees."""


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


def _fail(message: str) -> int:
    print(f"digestbot: {message}", file=sys.stderr, flush=True)
    return EXIT_FAILED


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
        raise StartupFailed(f"Discord rejected the token in {TOKEN_ENV} (401 Unauthorized)") from None
    except discord.PrivilegedIntentsRequired as error:
        raise StartupFailed(f"Discord refused the gateway intents: {error}") from None
    except discord.ConnectionClosed as error:
        raise StartupFailed(gateway_closed_reason(error.code, error.reason)) from None
    except (discord.GatewayNotFound, aiohttp.ClientConnectionError) as error:
        raise StartupFailed(f"cannot reach Discord: {error}") from None
    except discord.HTTPException as error:
        detail = error.text or error
        raise StartupFailed(f"Discord answered {error.status} during start-up: {detail}") from None
    except (SchemaTooNew, Fts5Unavailable, DatabaseMissing, MigrationFailed) as error:
        raise StartupFailed(str(error)) from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def run_bot(config: Config, *, force_sync: bool = False, log_level: str | None = None) -> int:
    """Run the bot until SIGINT/SIGTERM; the process exit code (0 after a clean stop, 1 when it could not
    start). `log_level` overrides `logging.level`; `force_sync` syncs commands even if unchanged."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    setup_logging(log_level or config.logging.level, token=token or None)
    if not token:
        return _fail(f"{TOKEN_ENV} is not set; put the bot token in the environment (never in config.yaml)")
    try:
        asyncio.run(_serve(config, token, force_sync=force_sync))
    except StartupFailed as error:
        return _fail(str(error))
    log.info("stopped")
    return EXIT_OK
