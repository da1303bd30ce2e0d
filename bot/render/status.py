"""`/admin status`: the bot's health, its shards, its corpus and a server's digests, from plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.render.embeds import NOTICE_COLORS
from bot.render.text import FIELD_VALUE_LIMIT, clean, code, discord_timestamp, truncate
from bot.shards import ShardSlice

if TYPE_CHECKING:
    from bot.store.digests import DigestRecord
    from bot.store.runs import LogEntry


def format_duration(seconds: float) -> str:
    """`3d 4h 5m`, `4h 0m`, `5m 12s`: uptime as people read it."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"


def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class DigestStatus:
    """One of this server's digests as `/admin status` shows it."""

    record: DigestRecord
    next_run: datetime | None
    last_run: LogEntry | None


@dataclass(frozen=True)
class ShardStatus:
    """One shard this process runs: its heartbeat latency (None before the first acknowledgement) and
    how many servers it carries."""

    shard_id: int
    latency_seconds: float | None
    guilds: int


@dataclass(frozen=True)
class StatusData:
    version: str
    uptime_seconds: float
    latency_seconds: float | None
    articles: int
    last_load_seq: int | None
    last_load_at: datetime | None
    last_load_rejected: int
    database_bytes: int | None
    digests: Sequence[DigestStatus]
    watching: bool
    shards: Sequence[ShardStatus] = ()
    shard_count: int = 1
    guild_shard: int | None = None
    log_channel_id: int | None = None


def _digest_line(item: DigestStatus) -> str:
    record = item.record
    line = f"**{clean(record.name)}** → <#{record.channel_id}> · {code(record.settings.schedule)}"
    if record.paused_reason is not None:
        since = f" since {discord_timestamp(record.paused_at, 'f')}" if record.paused_at else ""
        line += f"\n⏸️ paused{since}: {clean(truncate(record.paused_reason, 200))}"
    elif item.next_run is not None:
        upcoming = item.next_run
        line += f"\nnext run {discord_timestamp(upcoming, 'f')} ({discord_timestamp(upcoming, 'R')})"
    else:
        line += "\nno next run (the schedule never fires again)"
    last = item.last_run
    if last is None:
        line += " · not run yet"
    else:
        when = last.finished_at or last.claimed_at
        line += f" · last run {discord_timestamp(when, 'R')}: {last.status}"
        if last.kind == "skipped" or last.status == "skipped":
            line += f" ({last.skipped_count or 0} slot(s))"
        elif last.messages_planned:
            line += f" ({last.messages_sent}/{last.messages_planned} messages)"
    return line


def _latency(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds * 1000:,.0f} ms"


def shards_field(data: StatusData) -> dict[str, Any]:
    """Each shard of this process: latency and servers, the one this server is on marked; bounded."""
    lines = []
    for index, shard in enumerate(data.shards):
        line = f"#{shard.shard_id}: {_latency(shard.latency_seconds)} · {shard.guilds:,} server(s)"
        if shard.shard_id == data.guild_shard:
            line += " · this server"
        more = f"… and {len(data.shards) - index} more shard(s)"
        if len("\n".join([*lines, line, more])) > FIELD_VALUE_LIMIT and index < len(data.shards) - 1:
            lines.append(more)
            break
        lines.append(line)
    ids = [shard.shard_id for shard in data.shards]
    which = ShardSlice(tuple(ids), data.shard_count).describe() if ids else f"none of {data.shard_count}"
    return {"name": f"Shards ({which})", "value": "\n".join(lines) or "None connected.", "inline": False}


def status_embed(data: StatusData) -> dict[str, Any]:
    """The `/admin status` embed from plain data."""
    latency = _latency(data.latency_seconds)
    corpus = f"{data.articles:,} articles"
    if data.last_load_at is not None:
        corpus += f"\nlast load #{data.last_load_seq} {discord_timestamp(data.last_load_at, 'R')}"
        if data.last_load_rejected:
            corpus += f" ({data.last_load_rejected} rejected)"
    if data.watching:
        corpus += "\nwatching the folder"
    database = "unknown" if data.database_bytes is None else format_bytes(data.database_bytes)
    fields = [
        {"name": "Version", "value": data.version, "inline": True},
        {"name": "Uptime", "value": format_duration(data.uptime_seconds), "inline": True},
        {"name": "Gateway latency", "value": latency, "inline": True},
        {"name": "Corpus", "value": corpus, "inline": True},
        {"name": "Database", "value": database, "inline": True},
        shards_field(data),
        {"name": "Announcements", "inline": True, "value": (
            f"<#{data.log_channel_id}>" if data.log_channel_id is not None
            else "nowhere: choose a channel with `/admin settings log-channel`"
        )},
    ]
    if data.digests:
        blocks = [_digest_line(item) for item in data.digests]
        value = ""
        for index, block in enumerate(blocks):
            more = f"… and {len(blocks) - index} more (see `/digest list`)"
            candidate = f"{value}\n{block}" if value else block
            if len(candidate) > FIELD_VALUE_LIMIT - len(more) - 1 and index < len(blocks) - 1:
                value = f"{value}\n{more}" if value else more
                break
            value = truncate(candidate, FIELD_VALUE_LIMIT)
        paused = sum(1 for item in data.digests if item.record.paused)
        name = f"This server's digests ({len(data.digests)}" + (f", {paused} paused)" if paused else ")")
        fields.append({"name": name, "value": value, "inline": False})
    else:
        fields.append({"name": "This server's digests", "value": "None.", "inline": False})
    return {"title": "Bot status", "color": NOTICE_COLORS["info"], "fields": fields}
