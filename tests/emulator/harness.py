"""Running a discord.py client in-process against the emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord

from .driver import Emulator

ClientT = TypeVar("ClientT", bound=discord.Client)

# discord.py waits this long after the last GUILD_CREATE before `on_ready`; the emulator sends them at once.
GUILD_READY_TIMEOUT = 0.1
READY_TIMEOUT = 10.0


def carried_by(bot: discord.Client, guild_id: int) -> bool:
    """Whether `bot`'s shards receive the guild (a bot without shard settings receives every guild)."""
    if bot.shard_count is None:
        return True
    shards = getattr(bot, "shard_ids", None) or range(bot.shard_count)
    return (guild_id >> 22) % bot.shard_count in shards


async def _wait_for_guilds(bot: discord.Client, emu: Emulator) -> None:
    """After `on_ready`, every emulated guild on the bot's shards must be cached and available in it."""

    def missing() -> list[int]:
        return [
            int(gid)
            for gid in emu.world.guilds
            if carried_by(bot, int(gid))
            and ((guild := bot.get_guild(int(gid))) is None or guild.unavailable)
        ]

    while missing():
        waiters = [
            asyncio.ensure_future(bot.wait_for("guild_join")),
            asyncio.ensure_future(bot.wait_for("guild_available")),
        ]
        try:
            await asyncio.wait(waiters, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


@contextlib.asynccontextmanager
async def running_bot(bot: ClientT, emu: Emulator, *, token: str | None = None) -> AsyncIterator[ClientT]:
    """Logs `bot` in against `emu` (running its `setup_hook`), connects, waits for READY and every guild.

    discord.py's REST base and default gateway point at the emulator only inside this block. On exit the
    bot is closed and its connection task awaited, so nothing leaks into the next test.
    """
    with emu.routed_discord():
        connection: asyncio.Task[None] | None = None
        try:
            bot._connection.guild_ready_timeout = min(
                bot._connection.guild_ready_timeout, GUILD_READY_TIMEOUT
            )
            await bot.login(emu.token if token is None else token)
            connection = asyncio.create_task(bot.connect(reconnect=True), name="emulated-bot-connection")
            ready = asyncio.ensure_future(bot.wait_until_ready())
            done, _ = await asyncio.wait(
                {ready, connection}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                ready.cancel()
                if connection in done:
                    connection.result()
                    raise RuntimeError("the bot's gateway connection ended before READY")
                raise TimeoutError(f"the bot was not ready within {READY_TIMEOUT}s")
            await asyncio.wait_for(_wait_for_guilds(bot, emu), READY_TIMEOUT)
            yield bot
        finally:
            await bot.close()
            if connection is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(connection, READY_TIMEOUT)
