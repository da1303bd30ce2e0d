"""What delivery, announcements and the audit trail need of the running client, as a small interface.

The modules beside the Discord half (bot/delivery.py, bot/delivery_targets.py, bot/announce.py,
bot/ops/audit.py) take a `BotHost`, never the client class, so nothing outside bot/discord/ refers to the
client; `bot.discord.client.DigestBot` provides every member below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import discord
from discord.http import HTTPClient

from bot.config import Config
from bot.gate import CorpusGate
from bot.store.db import Database

if TYPE_CHECKING:
    from bot.delivery import DigestRunner


class BotHost(Protocol):
    """The running bot as its helpers see it: state, the clock, Discord's REST client and its cache."""

    db: Database
    config: Config
    http: HTTPClient
    corpus_gate: CorpusGate
    digest_runner: DigestRunner | None

    @property
    def user(self) -> discord.ClientUser | None: ...

    def now(self) -> datetime: ...

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]: ...

    def get_channel(self, channel_id: int, /) -> Any: ...

    async def fetch_channel(self, channel_id: int, /) -> Any: ...

    def get_guild(self, guild_id: int, /) -> discord.Guild | None: ...

    def is_ready(self) -> bool: ...

    async def wait_until_ready(self) -> None: ...
