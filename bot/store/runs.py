"""The run ledger (one row per slot, claimed once) and the per-channel delivered-URL record.

A slot is claimed by inserting its row (unique per digest and slot) together with the exact messages it
will post, and each message is recorded right after Discord confirms it. All of it is shared state
(`db.state`: the SQLite file, or PostgreSQL for a cluster), written in one transaction per step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.digest.model import Plan, PlannedMessage
from bot.digest.schedule import Slot
from bot.digest.select import Delivered
from bot.store import publishing
from bot.store.articles import current_load_seq
from bot.store.db import Database
from bot.store.digests import DigestError, StalePlan, require_digest
from bot.store.engine import StateConnection
from bot.store.rows import chunked, placeholders, to_json, utc_or_none, utc_text

log = logging.getLogger(__name__)

RUN_KINDS = ("scheduled", "manual")
RUN_STATUSES = ("pending", "posted", "partial", "empty", "skipped", "failed", "paused")
FINAL_STATUSES = ("posted", "partial", "empty", "failed", "paused")
SKIP_REASONS = ("downtime", "paused")


@dataclass(frozen=True, slots=True)
class RunMessage:
    """One planned message of a run (`part` from 1) and, once Discord confirmed it, where it went."""

    run_id: int
    part: int
    planned: PlannedMessage
    message_id: int | None = None
    channel_id: int | None = None
    sent_at: datetime | None = None

    @property
    def sent(self) -> bool:
        return self.message_id is not None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One ledger row: a claimed slot (with its messages) or a summary of skipped slots. `digest` is the
    digest's key, `digest_name` its name."""

    id: int
    digest: str
    digest_name: str
    slot_key: str
    kind: str
    fire_time: datetime | None
    claimed_at: datetime
    status: str
    error: str | None
    skipped_first: str | None
    skipped_last: str | None
    skipped_count: int | None
    thread_id: int | None
    finished_at: datetime | None
    messages: tuple[RunMessage, ...] = ()

    @property
    def plan(self) -> Plan:
        """The plan exactly as claimed."""
        return Plan(digest=self.digest_name, messages=tuple(message.planned for message in self.messages))

    @property
    def next_part(self) -> RunMessage | None:
        """The first message not yet confirmed by Discord (None when all were sent)."""
        return next((message for message in self.messages if not message.sent), None)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of a digest's delivery log."""

    run_id: int
    slot_key: str
    kind: str
    status: str
    fire_time: datetime | None
    claimed_at: datetime
    finished_at: datetime | None
    messages_planned: int
    messages_sent: int
    article_count: int
    error: str | None
    skipped_first: str | None
    skipped_last: str | None
    skipped_count: int | None
    published: int = 0
    publish_pending: int = 0
    publish_after: datetime | None = None


# --- conversions ------------------------------------------------------------------------------------


_RUN_COLUMNS = (
    "id, digest, (SELECT d.name FROM digests d WHERE d.key = digest_runs.digest), slot_key, "
    "kind, fire_time, claimed_at, status, error, skipped_first, skipped_last, "
    "skipped_count, thread_id, finished_at"
)


def _run(row: Sequence[Any], messages: tuple[RunMessage, ...] = ()) -> RunRecord:
    return RunRecord(
        id=row[0],
        digest=row[1],
        digest_name=row[2],
        slot_key=row[3],
        kind=row[4],
        fire_time=utc_or_none(row[5]),
        claimed_at=datetime.fromisoformat(row[6]),
        status=row[7],
        error=row[8],
        skipped_first=row[9],
        skipped_last=row[10],
        skipped_count=row[11],
        thread_id=row[12],
        finished_at=utc_or_none(row[13]),
        messages=messages,
    )


def _run_message(row: Sequence[Any]) -> RunMessage:
    run_id, part, payload, article_ids, urls, in_thread, message_id, channel_id, sent_at = row
    planned = PlannedMessage(
        payload=json.loads(payload),
        article_ids=tuple(json.loads(article_ids)),
        delivered_urls=tuple(json.loads(urls)),
        in_thread=bool(in_thread),
    )
    return RunMessage(run_id, part, planned, message_id, channel_id, utc_or_none(sent_at))



# --- the per-channel delivered-URL record -----------------------------------------------------------


async def channel_deliveries(
    db: Database, channel_id: int, urls: Iterable[str] | None = None
) -> dict[str, Delivered]:
    """What was already posted to the channel (by any digest): all of it, or only among `urls`."""
    rows: list[Sequence[Any]] = []
    async with db.state.read() as conn:
        if urls is None:
            rows.extend(await conn.fetch(
                "SELECT url, delivered_at, digest FROM delivered WHERE channel_id = ?", (channel_id,)
            ))
        else:
            for chunk in chunked(list(dict.fromkeys(urls))):
                rows.extend(await conn.fetch(
                    "SELECT url, delivered_at, digest FROM delivered WHERE channel_id = ? "
                    f"AND url IN ({placeholders(len(chunk))})",
                    [channel_id, *chunk],
                ))
    return {url: Delivered(url, datetime.fromisoformat(at), digest) for url, at, digest in rows}


async def _deliver(
    conn: StateConnection, channel_id: int, urls: Iterable[str], *, digest: str, run_id: int | None,
    now: datetime,
) -> int:
    """Record URLs as delivered to the channel; the first delivery of a URL is the one kept. Returns how
    many were new (several rows per statement: each statement's count is exact on every engine)."""
    stamp = utc_text(now)
    values = [value for url in dict.fromkeys(urls) for value in (channel_id, url, stamp, digest, run_id)]
    added = 0
    for chunk in chunked(values):
        rows = ", ".join(["(?, ?, ?, ?, ?)"] * (len(chunk) // 5))
        added += await conn.execute(
            f"INSERT INTO delivered (channel_id, url, delivered_at, digest, run_id) VALUES {rows} "
            "ON CONFLICT (channel_id, url) DO NOTHING",
            chunk,
        )
    return added


async def mark_seen(db: Database, key: str, urls: Iterable[str], *, now: datetime) -> int:
    """Treat `urls` as delivered to the digest's channel without posting; returns how many were new."""
    async with db.state.write() as conn:
        record = await require_digest(conn, key)
        added = await _deliver(conn, record.channel_id, urls, digest=record.name, run_id=None, now=now)
    log.info("digest %r: %d URL(s) marked as seen in channel %d", key, added, record.channel_id)
    return added

# --- the run ledger ---------------------------------------------------------------------------------


async def _messages_of(conn: StateConnection, run_ids: Sequence[int]) -> dict[int, list[RunMessage]]:
    found: dict[int, list[RunMessage]] = {run_id: [] for run_id in run_ids}
    for chunk in chunked(list(run_ids)):
        for row in await conn.fetch(
            "SELECT run_id, part, payload, article_ids, delivered_urls, in_thread, message_id, channel_id, "
            f"sent_at FROM run_messages WHERE run_id IN ({placeholders(len(chunk))}) ORDER BY run_id, part",
            chunk,
        ):
            found[row[0]].append(_run_message(row))
    return found


async def _fetch_run(conn: StateConnection, run_id: int) -> RunRecord:
    row = await conn.fetchone(f"SELECT {_RUN_COLUMNS} FROM digest_runs WHERE id = ?", (run_id,))
    if row is None:
        raise DigestError(f"there is no digest run {run_id}")
    messages = await _messages_of(conn, [run_id])
    return _run(row, tuple(messages[run_id]))


async def slot_claimed(db: Database, key: str, slot_key: str) -> bool:
    """Whether the digest's slot already has its ledger row (then there is nothing to compose for it)."""
    async with db.state.read() as conn:
        return await conn.fetchone(
            "SELECT 1 FROM digest_runs WHERE digest = ? AND slot_key = ?", (key, slot_key)
        ) is not None


async def _latest_load(db: Database, conn: StateConnection) -> int:
    """The corpus's latest load: read on the claim's own connection when the state sits beside the corpus
    (so no load can commit between this check and the claim), else from this process's corpus."""
    if db.state.beside_corpus:
        row = await conn.fetchone("SELECT coalesce(max(seq), 0) FROM loads")
        return 0 if row is None else int(row[0])
    return await current_load_seq(db)


async def _stale_reason(
    db: Database, conn: StateConnection, key: str, plan: Plan, composed_from: int
) -> str | None:
    """Why a plan composed from load `composed_from` may no longer be claimed, or None while it holds."""
    current = await _latest_load(db, conn)
    if current != composed_from:
        return f"the corpus changed (load {composed_from} → {current}) while the run was composed"
    urls = list(dict.fromkeys(url for message in plan.messages for url in message.delivered_urls))
    for chunk in chunked(urls):
        row = await conn.fetchone(
            "SELECT d.url FROM delivered d JOIN digests g ON g.channel_id = d.channel_id WHERE g.key = ? "
            f"AND d.url IN ({placeholders(len(chunk))}) LIMIT 1",
            [key, *chunk],
        )
        if row is not None:
            return f"{row[0]} was delivered to the channel while the run was composed"
    return None


async def claim_run(
    db: Database,
    key: str,
    slot_key: str,
    *,
    kind: str,
    fire_time: datetime,
    plan: Plan,
    now: datetime,
    composed_from: int | None = None,
) -> RunRecord | None:
    """Claim the slot with its precomposed plan, in one transaction: None when the slot was already claimed.

    The plan is composed beforehand, outside any write (composing reads the corpus, and no writer — an
    admin's pause, another digest's claim — may wait for that). `composed_from` is the load sequence it
    was composed from: when a corpus load committed since, or an article the plan posts was delivered to
    the digest's channel meanwhile, `StalePlan` is raised and nothing is recorded, so the caller composes
    again. The digest's row is locked for the claim: two processes claiming the same slot at once (a
    rolling restart) meet there and at the slot's unique row, and one of them gets None. The plan's
    messages are stored as they will be sent, so a resume after a crash or a corpus reload posts exactly
    what was planned. An empty plan is recorded as `empty` (and finished). Any claim counts as the digest's
    first run, which ends its backlog.
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"run kind must be one of {RUN_KINDS}, got {kind!r}")
    stamp = utc_text(now)
    async with db.state.write() as conn:
        record = await require_digest(conn, key, lock=True)
        if await conn.fetchone(
            "SELECT 1 FROM digest_runs WHERE digest = ? AND slot_key = ?", (key, slot_key)
        ) is not None:
            log.debug("digest %r slot %s already claimed", key, slot_key)
            return None
        if composed_from is not None:
            stale = await _stale_reason(db, conn, key, plan, composed_from)
            if stale is not None:
                raise StalePlan(f"digest {key!r} slot {slot_key}: {stale}")
        if plan.digest != record.name:
            raise ValueError(f"the plan is for digest {plan.digest!r}, not {record.name!r}")
        status = "empty" if plan.is_empty else "pending"
        summary = {
            "parts": len(plan.messages),
            "article_ids": [article_id for message in plan.messages for article_id in message.article_ids],
        }
        inserted = await conn.fetchone(
            "INSERT INTO digest_runs (digest, slot_key, kind, fire_time, claimed_at, status, plan, "
            "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest, slot_key) DO NOTHING "
            "RETURNING id",
            (key, slot_key, kind, utc_text(fire_time), stamp, status, to_json(summary),
             stamp if plan.is_empty else None),
        )
        if inserted is None:
            log.debug("digest %r slot %s already claimed", key, slot_key)
            return None
        run_id = int(inserted[0])
        await conn.executemany(
            "INSERT INTO run_messages (run_id, part, payload, article_ids, delivered_urls, in_thread) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, part, to_json(message.payload), to_json(list(message.article_ids)),
                 to_json(list(message.delivered_urls)), int(message.in_thread))
                for part, message in enumerate(plan.messages, start=1)
            ],
        )
        await conn.execute("UPDATE digests SET first_run_claimed = 1 WHERE key = ?", (key,))
        claimed = await _fetch_run(conn, run_id)
    log.info("digest %r claimed slot %s (%s, %d message(s))", key, slot_key, kind, len(plan.messages))
    return claimed


def _slot_label(slot: str | Slot) -> str:
    return slot.key if isinstance(slot, Slot) else slot


async def record_skipped(
    db: Database,
    key: str,
    *,
    first: str | Slot,
    last: str | Slot,
    count: int,
    reason: str,
    now: datetime,
) -> RunRecord | None:
    """One ledger row for `count` slots that did not run (first … last), because of downtime or a pause.

    A range that directly follows the digest's latest entry, skipped for the same reason, extends that
    entry, so a week-long pause of a per-minute digest is one row, not one per sweep. Recording the same
    range twice is a no-op (None), so a reconcile retried after a crash stays exact.
    """
    if reason not in SKIP_REASONS:
        raise ValueError(f"skip reason must be one of {SKIP_REASONS}, got {reason!r}")
    if count < 1:
        raise ValueError(f"a skipped entry covers at least one slot, got {count}")
    first_key, last_key = _slot_label(first), _slot_label(last)
    fire_time = last.fire_time if isinstance(last, Slot) else None
    stamp = utc_text(now)
    async with db.state.write() as conn:
        await require_digest(conn, key, lock=True)
        latest = await conn.fetchone(
            "SELECT id, error, skipped_first, skipped_last, skipped_count FROM digest_runs "
            "WHERE digest = ? ORDER BY id DESC LIMIT 1",
            (key,),
        )
        if latest is not None and latest[1] == reason and latest[3] is not None:
            latest_id, _, latest_first, latest_last, latest_count = latest
            if first_key <= latest_last:
                return None
            await conn.execute(
                "UPDATE digest_runs SET slot_key = ?, fire_time = coalesce(?, fire_time), skipped_last = ?, "
                "skipped_count = ?, finished_at = ? WHERE id = ?",
                (f"skipped-{latest_first}..{last_key}", None if fire_time is None else utc_text(fire_time),
                 last_key, latest_count + count, stamp, latest_id),
            )
            record = await _fetch_run(conn, latest_id)
            log.info("digest %r: %d more slot(s) skipped (%s), up to %s", key, count, reason, last_key)
            return record
        inserted = await conn.fetchone(
            "INSERT INTO digest_runs (digest, slot_key, kind, fire_time, claimed_at, status, error, "
            "skipped_first, skipped_last, skipped_count, finished_at) "
            "VALUES (?, ?, 'skipped', ?, ?, 'skipped', ?, ?, ?, ?, ?) "
            "ON CONFLICT (digest, slot_key) DO NOTHING RETURNING id",
            (key, f"skipped-{first_key}..{last_key}", None if fire_time is None else utc_text(fire_time),
             stamp, reason, first_key, last_key, count, stamp),
        )
        if inserted is None:
            return None
        record = await _fetch_run(conn, int(inserted[0]))
    log.info("digest %r: %d slot(s) skipped (%s), %s … %s", key, count, reason, first_key, last_key)
    return record


async def unfinished_runs(db: Database, key: str) -> list[RunRecord]:
    """Claimed runs still to deliver (`pending`: a crash interrupted them), oldest first, with their
    messages. A run that ended `partial` gave up after its retries and stays as the log shows it."""
    async with db.state.read() as conn:
        rows = await conn.fetch(
            f"SELECT {_RUN_COLUMNS} FROM digest_runs WHERE digest = ? AND status = 'pending' ORDER BY id",
            (key,),
        )
        messages = await _messages_of(conn, [row[0] for row in rows])
    return [_run(row, tuple(messages[row[0]])) for row in rows]


async def manual_runs_since(db: Database, key: str, since: datetime) -> list[datetime]:
    """When the digest's manual runs claimed after `since` were claimed, oldest first."""
    async with db.state.read() as conn:
        rows = await conn.fetch(
            "SELECT claimed_at FROM digest_runs WHERE digest = ? AND kind = 'manual' AND claimed_at > ? "
            "ORDER BY claimed_at",
            (key, utc_text(since)),
        )
    return [datetime.fromisoformat(row[0]) for row in rows]


async def get_run(db: Database, run_id: int) -> RunRecord:
    async with db.state.read() as conn:
        return await _fetch_run(conn, run_id)


async def run_messages(db: Database, run_id: int) -> list[RunMessage]:
    async with db.state.read() as conn:
        return (await _messages_of(conn, [run_id]))[run_id]


async def record_sent(
    db: Database, run_id: int, part: int, *, message_id: int, channel_id: int, now: datetime,
    publish: bool = False,
) -> None:
    """Discord confirmed the part: remember the message, and the URLs it shows as delivered to the digest's
    channel (the digest's own channel, also for thread items). With `publish`, the part waits to be
    published (recorded in the same transaction, so it cannot be forgotten)."""
    async with db.state.write() as conn:
        row = await conn.fetchone(
            "SELECT d.name, d.channel_id, m.delivered_urls FROM run_messages m "
            "JOIN digest_runs r ON r.id = m.run_id JOIN digests d ON d.key = r.digest "
            "WHERE m.run_id = ? AND m.part = ?",
            (run_id, part),
        )
        if row is None:
            raise DigestError(f"digest run {run_id} has no part {part}")
        digest, digest_channel, urls = row
        await conn.execute(
            "UPDATE run_messages SET message_id = ?, channel_id = ?, sent_at = ? "
            "WHERE run_id = ? AND part = ?",
            (message_id, channel_id, utc_text(now), run_id, part),
        )
        await _deliver(conn, digest_channel, json.loads(urls), digest=digest, run_id=run_id, now=now)
        if publish:
            await publishing.mark_pending(conn, run_id, part)


async def set_thread(db: Database, run_id: int, thread_id: int) -> None:
    async with db.state.write() as conn:
        await conn.execute("UPDATE digest_runs SET thread_id = ? WHERE id = ?", (thread_id, run_id))


async def finish_run(
    db: Database, run_id: int, status: str, error: str | None = None, *, now: datetime
) -> None:
    """Close a run with its outcome."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"a run finishes as one of {FINAL_STATUSES}, got {status!r}")
    async with db.state.write() as conn:
        changed = await conn.execute(
            "UPDATE digest_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
            (status, error, utc_text(now), run_id),
        )
        if changed == 0:
            raise DigestError(f"there is no digest run {run_id}")


def _article_count(plan: str | None) -> int:
    """How many articles a run's plan summary lists (skipped entries have none)."""
    return 0 if plan is None else len(json.loads(plan).get("article_ids", ()))


async def delivery_log(db: Database, key: str, *, limit: int = 20, offset: int = 0) -> list[LogEntry]:
    """The digest's ledger, newest first."""
    query = (
        "SELECT r.id, r.slot_key, r.kind, r.status, r.fire_time, r.claimed_at, r.finished_at, r.error, "
        "r.skipped_first, r.skipped_last, r.skipped_count, "
        "(SELECT count(*) FROM run_messages m WHERE m.run_id = r.id), "
        "(SELECT count(*) FROM run_messages m WHERE m.run_id = r.id AND m.message_id IS NOT NULL), "
        "r.plan FROM digest_runs r WHERE r.digest = ? ORDER BY r.id DESC LIMIT ? OFFSET ?"
    )
    async with db.state.read() as conn:
        rows = await conn.fetch(query, (key, limit, offset))
    return [
        LogEntry(
            run_id=row[0], slot_key=row[1], kind=row[2], status=row[3], fire_time=utc_or_none(row[4]),
            claimed_at=datetime.fromisoformat(row[5]), finished_at=utc_or_none(row[6]), error=row[7],
            skipped_first=row[8], skipped_last=row[9], skipped_count=row[10],
            messages_planned=row[11], messages_sent=row[12], article_count=_article_count(row[13]),
            **dict(zip(("published", "publish_pending", "publish_after"), publishing.counts(row[13]),
                       strict=True)),
        )
        for row in rows
    ]


async def prune_log(db: Database, *, now: datetime, keep_days: int = 90) -> int:
    """Forget finished runs claimed more than `keep_days` ago (unfinished ones stay until delivered).
    The per-channel delivered-URL record is kept forever."""
    cutoff = utc_text(now - timedelta(days=keep_days))
    async with db.state.write() as conn:
        removed = await conn.execute(
            "DELETE FROM digest_runs WHERE claimed_at < ? AND status != 'pending'", (cutoff,)
        )
    if removed:
        log.info("delivery log: %d run(s) older than %d days pruned", removed, keep_days)
    return removed

