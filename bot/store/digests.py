"""Digest definitions and the candidate pool of a run.

A digest is identified by its key (`digest_key`): its name for a digest from config.yaml, `<guild id>/<name>`
for one created from Discord, so names are unique per server and one server's names never block another's.

The database is the source of truth for digests: the scheduler only asks it what is due. The definitions
are shared state (`db.state`: the SQLite file, or PostgreSQL for a cluster), written in one transaction per
change; a change that reads the row first locks it, so processes of a cluster never interleave on one
digest. The pool reads the corpus, which is always local. The run ledger lives in `runs`, the audit log in
`audit_log`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config import DigestDefaults, DigestSettings, digest_settings_from_mapping
from bot.store.articles import current_load_seq
from bot.store.db import Database
from bot.store.engine import StateConnection
from bot.store.rows import to_json, utc_or_none, utc_text

log = logging.getLogger(__name__)

DIGEST_SOURCES = ("config", "runtime")


class DigestError(Exception):
    """A digest operation that cannot be done as asked; the message says why in the operator's terms."""


class DigestNotFound(DigestError):
    pass


class DuplicateDigest(DigestError):
    pass


class DigestLimitReached(DigestError):
    """The server already has as many digests made in Discord as the operator allows."""


class StalePlan(DigestError):
    """A precomposed plan no longer fits the store (a load or a delivery came in between): compose again."""


def digest_key(name: str, *, guild_id: int | None, source: str) -> str:
    """The stored identity of a digest: config digests by name (unique in config.yaml), digests created from
    Discord by server and name (unique in that server)."""
    return f"{guild_id}/{name}" if source == "runtime" and guild_id is not None else name


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A digest as stored: its key, its settings plus where its schedule and backlog stand."""

    key: str
    settings: DigestSettings
    guild_id: int | None
    source: str
    watermark: int
    created_at: datetime
    schedule_from: datetime
    last_checked: datetime
    paused_reason: str | None
    paused_at: datetime | None
    first_run_claimed: bool

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def channel_id(self) -> int:
        return self.settings.channel_id

    @property
    def paused(self) -> bool:
        return self.paused_reason is not None


@dataclass(frozen=True, slots=True)
class ConfigDigestChanges:
    """What syncing the configured digests into the database did, by digest name.

    `conflicts` are configured names taken by a digest created from Discord before names were per server
    whose server is not known (it is kept; digests with a known server never conflict).
    """

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


# --- conversions ------------------------------------------------------------------------------------


def _settings(raw: str, name: str) -> DigestSettings:
    """Stored settings are complete (as_mapping), so no defaults apply; validation still guards the row."""
    return digest_settings_from_mapping(json.loads(raw), DigestDefaults(), where=f"stored digest {name}",
                                        file=None)


_DIGEST_COLUMNS = (
    "key, name, guild_id, source, settings, watermark, created_at, schedule_from, last_checked, "
    "paused_reason, paused_at, first_run_claimed"
)


def _record(row: Sequence[Any]) -> DigestRecord:
    (key, name, guild_id, source, settings, watermark, created, schedule_from, checked, reason, paused_at,
     first) = row
    return DigestRecord(
        key=key,
        settings=_settings(settings, name),
        guild_id=guild_id,
        source=source,
        watermark=int(watermark),
        created_at=datetime.fromisoformat(created),
        schedule_from=datetime.fromisoformat(schedule_from),
        last_checked=datetime.fromisoformat(checked),
        paused_reason=reason,
        paused_at=utc_or_none(paused_at),
        first_run_claimed=bool(first),
    )


# --- digest definitions -----------------------------------------------------------------------------


async def _fetch_record(conn: StateConnection, key: str, *, lock: bool = False) -> DigestRecord | None:
    """The stored digest with this key; with `lock`, its row stays locked to this transaction till it ends."""
    row = await conn.fetchone(
        f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE key = ?" + (conn.row_lock if lock else ""), (key,)
    )
    return None if row is None else _record(row)


async def require_digest(conn: StateConnection, key: str, *, lock: bool = False) -> DigestRecord:
    """The stored digest (DigestNotFound when there is none); `lock` as in `_fetch_record`."""
    record = await _fetch_record(conn, key, lock=lock)
    if record is None:
        raise DigestNotFound(f"there is no digest {key!r}")
    return record


async def get_digest(db: Database, key: str) -> DigestRecord | None:
    """The digest with this key (see `digest_key`)."""
    async with db.state.read() as conn:
        return await _fetch_record(conn, key)


async def list_digests(db: Database, *, guild_id: int | None = None) -> list[DigestRecord]:
    """Every digest by name (then key), or only those of one guild."""
    query = f"SELECT {_DIGEST_COLUMNS} FROM digests"
    params: tuple[Any, ...] = ()
    if guild_id is not None:
        query += " WHERE guild_id = ?"
        params = (guild_id,)
    async with db.state.read() as conn:
        rows = await conn.fetch(query + " ORDER BY name, key", params)
    return [_record(row) for row in rows]


async def _insert_digest(
    conn: StateConnection,
    settings: DigestSettings,
    *,
    guild_id: int | None,
    source: str,
    watermark: int,
    now: datetime,
) -> bool:
    """Store a new digest; False when its key was taken meanwhile (by another process of a cluster)."""
    stamp = utc_text(now)
    key = digest_key(settings.name, guild_id=guild_id, source=source)
    return await conn.execute(
        "INSERT INTO digests (key, name, guild_id, channel_id, source, settings, watermark, created_at, "
        "schedule_from, last_checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (key, settings.name, guild_id, settings.channel_id, source, to_json(settings.as_mapping()), watermark,
         stamp, stamp, stamp),
    ) > 0


def _schedule_changed(old: DigestSettings, new: DigestSettings) -> bool:
    return old.schedule != new.schedule or old.timezone != new.timezone


async def _update_settings(
    conn: StateConnection, old: DigestRecord, settings: DigestSettings, now: datetime
) -> None:
    """Store new settings; a new schedule counts slots from `now`, a new channel forgets the guild."""
    stamp = utc_text(now)
    reschedule = _schedule_changed(old.settings, settings)
    await conn.execute(
        "UPDATE digests SET settings = ?, channel_id = ?, "
        "guild_id = CASE WHEN channel_id = ? THEN guild_id ELSE NULL END, "
        "schedule_from = CASE WHEN ? THEN ? ELSE schedule_from END, "
        "last_checked = CASE WHEN ? THEN ? ELSE last_checked END WHERE key = ?",
        (to_json(settings.as_mapping()), settings.channel_id, settings.channel_id,
         reschedule, stamp, reschedule, stamp, old.key),
    )


async def sync_config_digests(
    db: Database, digests: Sequence[DigestSettings], *, now: datetime
) -> ConfigDigestChanges:
    """Bring the stored config digests in line with config.yaml, leaving runtime digests alone.

    A configured digest seen for the first time is created now (watermark: the current load). A changed
    schedule or timezone counts slots from now. A digest gone from the file is deleted with its runs; what
    it delivered stays recorded for its channel. Config digests are keyed by name, so a digest created from
    Discord (keyed by its server) never takes a name config.yaml needs; only one stored before names were
    per server, without a known server, can (`conflicts`).
    """
    watermark = await current_load_seq(db)
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []
    conflicts: list[str] = []
    wanted = {settings.name: settings for settings in digests}
    async with db.state.write() as conn:
        rows = await conn.fetch(f"SELECT {_DIGEST_COLUMNS} FROM digests ORDER BY key{conn.row_lock}")
        stored = {record.key: record for record in map(_record, rows)}
        for name, settings in wanted.items():
            record = stored.get(name)
            if record is None:
                if await _insert_digest(conn, settings, guild_id=None, source="config", watermark=watermark,
                                        now=now):
                    added.append(name)
            elif record.source != "config":
                conflicts.append(name)
            elif record.settings != settings:
                await _update_settings(conn, record, settings, now)
                changed.append(name)
        for key, record in stored.items():
            if record.source == "config" and key not in wanted:
                await conn.execute("DELETE FROM digests WHERE key = ?", (key,))
                removed.append(record.name)
    for name in conflicts:
        log.warning("config digest %r is not applied: a digest created from Discord already has that name",
                    name)
    if added or changed or removed:
        log.info("config digests synced: added %s, changed %s, removed %s", added, changed, removed)
    return ConfigDigestChanges(tuple(added), tuple(changed), tuple(removed), tuple(conflicts))


def _duplicate(record: DigestRecord, guild_id: int | None) -> DuplicateDigest:
    origin = "config.yaml" if record.source == "config" else "created from Discord"
    where = "" if guild_id is None else " in this server"
    return DuplicateDigest(
        f"a digest called {record.name!r} already exists{where} ({origin}); pick another name"
    )


async def create_digest(
    db: Database,
    settings: DigestSettings,
    *,
    guild_id: int | None,
    now: datetime,
    source: str = "runtime",
    per_guild_limit: int | None = None,
) -> DigestRecord:
    """Store a new digest, created now (its watermark is the current load). Names are unique per server:
    among the server's digests created from Discord and the config digests posting there; another
    server's digests are never compared (nor revealed).

    With `per_guild_limit`, a guild that already has that many runtime digests gets `DigestLimitReached`
    (counted in the same transaction as the insert, so simultaneous creates in one process cannot overshoot
    it; in a cluster a server's commands reach the one process of its shard).
    """
    if source not in DIGEST_SOURCES:
        raise ValueError(f"digest source must be one of {DIGEST_SOURCES}, got {source!r}")
    watermark = await current_load_seq(db)
    key = digest_key(settings.name, guild_id=guild_id, source=source)
    async with db.state.write() as conn:
        existing = await _fetch_record(conn, key)
        if existing is None and guild_id is not None:
            row = await conn.fetchone(
                f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE guild_id = ? AND name = ? ORDER BY key LIMIT 1",
                (guild_id, settings.name),
            )
            existing = None if row is None else _record(row)
        if existing is not None:
            raise _duplicate(existing, guild_id)
        if per_guild_limit is not None:
            row = await conn.fetchone(
                "SELECT count(*) FROM digests WHERE guild_id = ? AND source = 'runtime'", (guild_id,)
            )
            count = 0 if row is None else int(row[0])
            if count >= per_guild_limit:
                raise DigestLimitReached(
                    f"this server already has {count} digest{'s' if count != 1 else ''} made in Discord, "
                    f"the most allowed ({per_guild_limit}); delete one with `/admin digest delete` first"
                )
        inserted = await _insert_digest(
            conn, settings, guild_id=guild_id, source=source, watermark=watermark, now=now
        )
        record = await require_digest(conn, key)
    if not inserted:
        raise _duplicate(record, guild_id)
    log.info(
        "digest %r created (%s, guild %s, watermark load %d)", settings.name, source, guild_id, watermark
    )
    return record


async def update_digest(db: Database, key: str, settings: DigestSettings, *, now: datetime) -> DigestRecord:
    """Replace a digest's settings; a schedule or timezone change takes effect from `now`."""
    async with db.state.write() as conn:
        record = await require_digest(conn, key, lock=True)
        if settings.name != record.name:
            raise DigestError(f"digest {record.name!r} cannot be renamed to {settings.name!r}")
        await _update_settings(conn, record, settings, now)
        return await require_digest(conn, key)


async def delete_digest(db: Database, key: str) -> bool:
    """Delete a digest and its runs (the channel's delivered URLs stay). False when there was none."""
    async with db.state.write() as conn:
        deleted = await conn.execute("DELETE FROM digests WHERE key = ?", (key,)) > 0
    if deleted:
        log.info("digest %r deleted", key)
    return deleted


async def set_paused(db: Database, key: str, reason: str | None, *, now: datetime) -> DigestRecord:
    """Pause with `reason` (shown in /digest list), or resume with None.

    `last_checked` is left to the reconcile, which records the slots passing during a pause as skipped.
    """
    stamp = utc_text(now)
    async with db.state.write() as conn:
        await require_digest(conn, key)
        if reason is None:
            await conn.execute(
                "UPDATE digests SET paused_reason = NULL, paused_at = NULL WHERE key = ?", (key,)
            )
        else:
            await conn.execute(
                "UPDATE digests SET paused_reason = ?, paused_at = coalesce(paused_at, ?) WHERE key = ?",
                (reason, stamp, key),
            )
        record = await require_digest(conn, key)
    log.info("digest %r %s", key, f"paused: {reason}" if reason else "resumed")
    return record


async def set_last_checked(db: Database, key: str, at: datetime) -> None:
    """Slots up to `at` have been dealt with; the next look for due slots starts there."""
    async with db.state.write() as conn:
        await conn.execute("UPDATE digests SET last_checked = ? WHERE key = ?", (utc_text(at), key))


async def set_guild(db: Database, key: str, guild_id: int | None) -> None:
    """Record the guild of the digest's channel (resolved when the bot sees the channel)."""
    async with db.state.write() as conn:
        await conn.execute("UPDATE digests SET guild_id = ? WHERE key = ?", (guild_id, key))
