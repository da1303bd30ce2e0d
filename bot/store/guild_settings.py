"""Per-server settings chosen from Discord (`/admin settings …`); today, where the server's announcements go.

A server without a row has no settings of its own. Another server's settings are never read for it. The
table is shared state (`db.state`), so every process of a cluster routes a server's announcements alike.
"""

from __future__ import annotations

from datetime import datetime

from bot.store.db import Database
from bot.store.rows import utc_text


async def guild_log_channel(db: Database, guild_id: int) -> int | None:
    """The server's own log channel, or None when it has not chosen one."""
    async with db.state.read() as conn:
        row = await conn.fetchone("SELECT log_channel_id FROM guild_settings WHERE guild_id = ?", (guild_id,))
    return None if row is None or row[0] is None else int(row[0])


async def set_guild_log_channel(
    db: Database, guild_id: int, channel_id: int | None, *, now: datetime
) -> None:
    """Choose (or with None, forget) the server's own log channel."""
    stamp = utc_text(now)
    async with db.state.write() as conn:
        await conn.execute(
            "INSERT INTO guild_settings (guild_id, log_channel_id, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET log_channel_id = excluded.log_channel_id, "
            "updated_at = excluded.updated_at",
            (guild_id, channel_id, stamp),
        )
