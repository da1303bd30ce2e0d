"""The digest store: definitions, config sync, the run ledger, delivered URLs, log pruning, the audit log —
on both engines of the shared state (SQLite beside the corpus, and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import DigestDefaults, DigestSettings, digest_settings_from_mapping
from bot.digest.model import Plan, PlannedMessage
from bot.digest.schedule import Slot
from bot.store import audit_log, candidates, runs
from bot.store import digests as store
from bot.store.db import Database
from bot.store.loader import load_corpus

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNEL = 111
OTHER_CHANNEL = 222
#: The key of the digest most tests create from Discord in server 1.
MORNING = "1/morning"


def digest(name: str = "morning", **overrides: Any) -> DigestSettings:
    data = {"name": name, "channel_id": CHANNEL, "schedule": "0 8 * * *", **overrides}
    return digest_settings_from_mapping(data, DigestDefaults(), where="digests[0]", file=None)


def key(name: str = "morning", guild_id: int = 1) -> str:
    """The stored key of a digest created from Discord in that server."""
    return store.digest_key(name, guild_id=guild_id, source="runtime")


def plan_for(name: str, *urls_per_message: tuple[str, ...]) -> Plan:
    return Plan(
        digest=name,
        messages=tuple(
            PlannedMessage(
                payload={"content": f"part {part}", "embeds": [], "allowed_mentions": {"parse": []}},
                article_ids=(f"a{part}",),
                delivered_urls=urls,
            )
            for part, urls in enumerate(urls_per_message, start=1)
        ),
    )


@pytest.fixture
async def db(tmp_path: Path, state_url: str | None) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "digests.sqlite3", state_url=state_url)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def seeded(db: Database) -> Database:
    await load_corpus(db, SEEDS, now=T0, workers=0)
    return db


# --- definitions


async def test_create_get_update_delete_roundtrip(seeded: Database) -> None:
    created = await store.create_digest(seeded, digest(topics=["AI"]), guild_id=5, now=T0)

    assert created.settings == digest(topics=["AI"])
    assert (created.guild_id, created.source, created.watermark) == (5, "runtime", 1)
    assert created.created_at == created.schedule_from == created.last_checked == T0
    assert not created.first_run_claimed and not created.paused
    assert created.key == "5/morning"
    assert await store.get_digest(seeded, "5/morning") == created

    later = T0 + timedelta(hours=2)
    same_schedule = await store.update_digest(seeded, "5/morning", digest(min_quality=60), now=later)
    assert same_schedule.settings.min_quality == 60
    assert same_schedule.schedule_from == T0, "a filter change does not move the schedule"

    rescheduled = await store.update_digest(seeded, "5/morning", digest(schedule="30 7 * * *"), now=later)
    assert rescheduled.schedule_from == rescheduled.last_checked == later

    assert await store.delete_digest(seeded, "5/morning") is True
    assert await store.get_digest(seeded, "5/morning") is None
    assert await store.delete_digest(seeded, "5/morning") is False


async def test_names_are_unique_per_server_including_the_config_digests_posting_there(db: Database) -> None:
    await store.sync_config_digests(db, [digest("configured")], now=T0)
    await store.set_guild(db, "configured", 1)
    await store.create_digest(db, digest("mine"), guild_id=1, now=T0)

    with pytest.raises(store.DuplicateDigest) as configured:
        await store.create_digest(db, digest("configured"), guild_id=1, now=T0)
    assert str(configured.value) == (
        "a digest called 'configured' already exists in this server (config.yaml); pick another name"
    )
    with pytest.raises(store.DuplicateDigest) as mine:
        await store.create_digest(db, digest("mine"), guild_id=1, now=T0)
    assert str(mine.value) == (
        "a digest called 'mine' already exists in this server (created from Discord); pick another name"
    )

    # Another server may use both names: nothing about server 1 stands in its way.
    for name in ("mine", "configured"):
        other = await store.create_digest(db, digest(name), guild_id=2, now=T0)
        assert (other.key, other.name, other.guild_id) == (f"2/{name}", name, 2)
    assert [(r.key, r.source) for r in await store.list_digests(db) if r.name == "mine"] == [
        ("1/mine", "runtime"), ("2/mine", "runtime"),
    ]


async def test_a_server_cannot_squat_a_name_a_later_config_digest_needs(db: Database) -> None:
    await store.create_digest(db, digest("morning"), guild_id=1, now=T0)

    changes = await store.sync_config_digests(db, [digest("morning")], now=T0)

    assert changes == store.ConfigDigestChanges(added=("morning",))
    configured = await store.get_digest(db, "morning")
    assert configured is not None and configured.source == "config"
    assert (await store.get_digest(db, MORNING)) is not None


async def test_list_digests_by_guild(db: Database) -> None:
    await store.create_digest(db, digest("b"), guild_id=1, now=T0)
    await store.create_digest(db, digest("a"), guild_id=1, now=T0)
    await store.create_digest(db, digest("c"), guild_id=2, now=T0)

    assert [record.name for record in await store.list_digests(db)] == ["a", "b", "c"]
    assert [record.name for record in await store.list_digests(db, guild_id=1)] == ["a", "b"]
    await store.set_guild(db, key("c", 2), 1)
    assert [record.name for record in await store.list_digests(db, guild_id=1)] == ["a", "b", "c"]


async def test_config_sync_adds_changes_and_removes_but_leaves_runtime_digests(seeded: Database) -> None:
    await store.create_digest(seeded, digest("runtime"), guild_id=1, now=T0)
    # Stored before names were per server, without a known server: keyed by its bare name.
    await store.create_digest(seeded, digest("legacy"), guild_id=None, now=T0)
    first = await store.sync_config_digests(seeded, [digest("keep"), digest("gone")], now=T0)
    assert first == store.ConfigDigestChanges(added=("keep", "gone"))
    kept = await store.get_digest(seeded, "keep")
    assert kept is not None and kept.source == "config" and kept.watermark == 1 and kept.guild_id is None

    claimed = await runs.claim_run(seeded, "gone", "2026-03-03T08:00", kind="scheduled", fire_time=T0,
                                    plan=plan_for("gone", ("https://x.test/1",)), now=T0)
    assert claimed is not None
    await runs.record_sent(seeded, claimed.id, 1, message_id=9, channel_id=CHANNEL, now=T0)

    later = T0 + timedelta(days=1)
    second = await store.sync_config_digests(
        seeded,
        [digest("keep", schedule="0 9 * * *"), digest("runtime", channel_id=OTHER_CHANNEL),
         digest("legacy", channel_id=OTHER_CHANNEL)],
        now=later,
    )
    assert second.changed == ("keep",)
    assert second.added == ("runtime",)
    assert second.removed == ("gone",)
    assert second.conflicts == ("legacy",)
    changed = await store.get_digest(seeded, "keep")
    assert changed is not None and changed.schedule_from == changed.last_checked == later
    assert changed.watermark == 1, "a changed config digest keeps its creation watermark"
    runtime = await store.get_digest(seeded, key("runtime"))
    assert runtime is not None and runtime.channel_id == CHANNEL, "config never touches runtime digests"
    assert await store.get_digest(seeded, "gone") is None
    assert await runs.delivery_log(seeded, "gone", limit=10) == []
    assert set(await runs.channel_deliveries(seeded, CHANNEL)) == {"https://x.test/1"}

    unchanged = await store.sync_config_digests(
        seeded, [digest("keep", schedule="0 9 * * *"), digest("runtime", channel_id=OTHER_CHANNEL)],
        now=later + timedelta(days=1),
    )
    assert unchanged == store.ConfigDigestChanges()


async def test_config_channel_change_forgets_the_guild(db: Database) -> None:
    await store.sync_config_digests(db, [digest("c")], now=T0)
    await store.set_guild(db, "c", 77)
    await store.sync_config_digests(db, [digest("c", channel_id=OTHER_CHANNEL)], now=T0)
    record = await store.get_digest(db, "c")
    assert record is not None and record.guild_id is None and record.channel_id == OTHER_CHANNEL


async def test_pause_and_resume(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    paused = await store.set_paused(db, MORNING, "missing access to the channel", now=T0)
    assert paused.paused_reason == "missing access to the channel" and paused.paused_at == T0
    resumed = await store.set_paused(db, MORNING, None, now=T0 + timedelta(hours=1))
    assert not resumed.paused and resumed.paused_at is None
    with pytest.raises(store.DigestNotFound):
        await store.set_paused(db, key("nope"), "x", now=T0)


async def test_set_last_checked(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    await store.set_last_checked(db, MORNING, T0 + timedelta(minutes=5))
    record = await store.get_digest(db, MORNING)
    assert record is not None and record.last_checked == T0 + timedelta(minutes=5)


# --- the ledger


async def test_a_slot_is_claimed_once_with_its_plan(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    plan = plan_for("morning", ("https://x.test/1", "https://x.test/2"), ("https://x.test/3",))

    run = await runs.claim_run(db, MORNING, "2026-03-03T08:00", kind="scheduled", fire_time=T0,
                                plan=plan, now=T0)
    again = await runs.claim_run(db, MORNING, "2026-03-03T08:00", kind="scheduled", fire_time=T0,
                                  plan=plan_for("morning", ("https://other.test/",)), now=T0)

    assert run is not None and again is None
    assert run.status == "pending" and run.plan == plan and run.next_part is not None
    assert [message.part for message in run.messages] == [1, 2]
    record = await store.get_digest(db, MORNING)
    assert record is not None and record.first_run_claimed
    assert [unfinished.id for unfinished in await runs.unfinished_runs(db, MORNING)] == [run.id]


async def test_an_empty_plan_is_recorded_empty_and_ends_the_first_run(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    run = await runs.claim_run(db, MORNING, "manual-20260302T090000Z", kind="manual", fire_time=T0,
                                plan=Plan("morning"), now=T0)
    assert run is not None and run.status == "empty" and run.finished_at == T0 and run.messages == ()
    record = await store.get_digest(db, MORNING)
    assert record is not None and record.first_run_claimed
    assert await runs.unfinished_runs(db, MORNING) == []


async def test_claiming_for_an_unknown_digest_or_a_foreign_plan_fails(db: Database) -> None:
    with pytest.raises(store.DigestNotFound):
        await runs.claim_run(db, key("nope"), "k", kind="scheduled", fire_time=T0, plan=Plan("nope"), now=T0)
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    with pytest.raises(ValueError, match="plan is for digest 'other'"):
        await runs.claim_run(db, MORNING, "k", kind="scheduled", fire_time=T0, plan=Plan("other"), now=T0)


async def test_record_sent_delivers_the_parts_urls_to_the_digests_channel(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    await store.create_digest(db, digest("evening"), guild_id=1, now=T0)
    run = await runs.claim_run(db, MORNING, "s1", kind="scheduled", fire_time=T0, now=T0,
                                plan=plan_for("morning", ("https://x.test/1",), ("https://x.test/2",)))
    assert run is not None
    sent_at = T0 + timedelta(seconds=3)

    await runs.record_sent(db, run.id, 1, message_id=1001, channel_id=CHANNEL, now=sent_at)

    delivered = await runs.channel_deliveries(db, CHANNEL)
    assert set(delivered) == {"https://x.test/1"}
    assert delivered["https://x.test/1"].digest == "morning"
    assert delivered["https://x.test/1"].delivered_at == sent_at
    assert await runs.channel_deliveries(db, OTHER_CHANNEL) == {}
    messages = await runs.run_messages(db, run.id)
    assert (messages[0].message_id, messages[0].channel_id, messages[0].sent_at) == (1001, CHANNEL, sent_at)
    unfinished = await runs.unfinished_runs(db, MORNING)
    assert unfinished[0].next_part is not None and unfinished[0].next_part.part == 2

    await runs.set_thread(db, run.id, 4242)
    await runs.record_sent(db, run.id, 2, message_id=1002, channel_id=4242, now=sent_at)
    await runs.finish_run(db, run.id, "posted", now=sent_at)
    assert set(await runs.channel_deliveries(db, CHANNEL, ["https://x.test/2", "https://y.test"])) == {
        "https://x.test/2"
    }, "thread items count for the digest's channel"
    finished = await runs.get_run(db, run.id)
    assert finished.status == "posted" and finished.thread_id == 4242 and finished.finished_at == sent_at
    assert await runs.unfinished_runs(db, MORNING) == []

    with pytest.raises(store.DigestError, match="no part 3"):
        await runs.record_sent(db, run.id, 3, message_id=1, channel_id=CHANNEL, now=sent_at)


async def test_the_first_delivery_of_a_url_is_kept(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    await store.create_digest(db, digest("evening"), guild_id=1, now=T0)
    assert await runs.mark_seen(db, MORNING, ["https://x.test/1"], now=T0) == 1
    assert await runs.mark_seen(db, key("evening"), ["https://x.test/1", "https://x.test/2"], now=T0) == 1
    delivered = await runs.channel_deliveries(db, CHANNEL)
    assert {url: item.digest for url, item in delivered.items()} == {
        "https://x.test/1": "morning",
        "https://x.test/2": "evening",
    }


async def test_skipped_slots_are_one_row_and_recording_them_twice_is_a_no_op(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    first = Slot("2026-03-01T08:00", T0 - timedelta(days=1, hours=1))
    last = Slot("2026-03-07T08:00", T0 + timedelta(days=5))

    skipped = await runs.record_skipped(db, MORNING, first=first, last=last, count=7, reason="downtime",
                                         now=T0)
    repeated = await runs.record_skipped(db, MORNING, first=first.key, last=last.key, count=7,
                                          reason="downtime", now=T0)
    paused = await runs.record_skipped(db, MORNING, first="2026-03-08T08:00", last="2026-03-08T08:00",
                                        count=1, reason="paused", now=T0)

    assert skipped is not None and repeated is None and paused is not None
    assert (skipped.status, skipped.skipped_first, skipped.skipped_last, skipped.skipped_count) == (
        "skipped", "2026-03-01T08:00", "2026-03-07T08:00", 7
    )
    log = await runs.delivery_log(db, MORNING, limit=10)
    assert [(entry.status, entry.error, entry.skipped_count) for entry in log] == [
        ("skipped", "paused", 1),
        ("skipped", "downtime", 7),
    ]
    with pytest.raises(ValueError, match="skip reason"):
        await runs.record_skipped(db, MORNING, first="a", last="b", count=1, reason="bored", now=T0)


async def test_slots_skipped_during_one_pause_extend_a_single_row(db: Database) -> None:
    await store.create_digest(db, digest(schedule="* * * * *"), guild_id=1, now=T0)
    for minute in range(3):
        slot = f"2026-03-02T09:0{minute}"
        await runs.record_skipped(db, MORNING, first=slot, last=slot, count=1, reason="paused", now=T0)
    again = await runs.record_skipped(db, MORNING, first="2026-03-02T09:01", last="2026-03-02T09:02",
                                       count=2, reason="paused", now=T0)
    await runs.record_skipped(db, MORNING, first="2026-03-02T10:00", last="2026-03-02T10:05", count=6,
                               reason="downtime", now=T0)

    assert again is None
    log = await runs.delivery_log(db, MORNING, limit=10)
    assert [(entry.error, entry.skipped_first, entry.skipped_last, entry.skipped_count) for entry in log] == [
        ("downtime", "2026-03-02T10:00", "2026-03-02T10:05", 6),
        ("paused", "2026-03-02T09:00", "2026-03-02T09:02", 3),
    ]


async def test_delivery_log_counts_messages_and_articles_and_pages(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    run = await runs.claim_run(db, MORNING, "s1", kind="scheduled", fire_time=T0, now=T0,
                                plan=plan_for("morning", ("https://x.test/1",), ("https://x.test/2",)))
    assert run is not None
    await runs.record_sent(db, run.id, 1, message_id=1, channel_id=CHANNEL, now=T0)
    await runs.finish_run(db, run.id, "failed", "503 from Discord", now=T0)
    await runs.claim_run(db, MORNING, "s2", kind="manual", fire_time=T0, plan=Plan("morning"), now=T0)

    newest, oldest = await runs.delivery_log(db, MORNING, limit=10)
    assert (newest.slot_key, newest.status, newest.messages_planned) == ("s2", "empty", 0)
    assert (oldest.slot_key, oldest.status, oldest.error) == ("s1", "failed", "503 from Discord")
    assert (oldest.messages_planned, oldest.messages_sent, oldest.article_count) == (2, 1, 2)
    assert [entry.slot_key for entry in await runs.delivery_log(db, MORNING, limit=1, offset=1)] == ["s1"]


async def test_prune_log_keeps_recent_and_unfinished_runs_and_every_delivery(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    old = T0 - timedelta(days=120)
    posted = await runs.claim_run(db, MORNING, "old-posted", kind="scheduled", fire_time=old, now=old,
                                   plan=plan_for("morning", ("https://x.test/1",)))
    assert posted is not None
    await runs.record_sent(db, posted.id, 1, message_id=1, channel_id=CHANNEL, now=old)
    await runs.finish_run(db, posted.id, "posted", now=old)
    await runs.claim_run(db, MORNING, "old-pending", kind="scheduled", fire_time=old, now=old,
                          plan=plan_for("morning", ("https://x.test/2",)))
    await runs.claim_run(db, MORNING, "recent", kind="scheduled", fire_time=T0, now=T0,
                          plan=Plan("morning"))

    assert await runs.prune_log(db, now=T0) == 1
    assert {entry.slot_key for entry in await runs.delivery_log(db, MORNING, limit=10)} == {
        "old-pending", "recent"
    }
    assert set(await runs.channel_deliveries(db, CHANNEL)) == {"https://x.test/1"}
    assert await runs.run_messages(db, posted.id) == []


async def test_finish_run_rejects_unknown_statuses_and_runs(db: Database) -> None:
    with pytest.raises(ValueError, match="finishes as one of"):
        await runs.finish_run(db, 1, "pending", now=T0)
    with pytest.raises(store.DigestError, match="no digest run 99"):
        await runs.finish_run(db, 99, "posted", now=T0)


# --- the pool


async def test_pool_is_narrowed_by_quality_topic_provider_and_delivery(seeded: Database) -> None:
    everything = digest(min_quality=0)
    pool = await candidates.digest_pool(seeded, everything, watermark=0, first_run=False, slot_time=T0)
    assert len(pool) == 5
    assert [article.quality for article in pool] == sorted((a.quality for a in pool), reverse=True)

    assert {a.quality for a in await candidates.digest_pool(
        seeded, digest(min_quality=40), watermark=0, first_run=False, slot_time=T0)} == {74, 47}
    by_provider = await candidates.digest_pool(seeded, digest(min_quality=0, providers=["www.NOLA.com"]),
                                          watermark=0, first_run=False, slot_time=T0)
    assert {a.provider.name for a in by_provider if a.provider} == {"NOLA.com"}
    assert await candidates.digest_pool(seeded, digest(min_quality=0, topics=["sports"]), watermark=0,
                                   first_run=False, slot_time=T0) == []

    await store.create_digest(seeded, everything, guild_id=1, now=T0)
    await runs.mark_seen(seeded, MORNING, [pool[0].url], now=T0)
    after = await candidates.digest_pool(seeded, everything, watermark=0, first_run=False, slot_time=T0)
    assert pool[0].url not in {article.url for article in after} and len(after) == 4


async def test_pool_takes_existing_articles_only_on_the_first_run_up_to_the_backlog(seeded: Database) -> None:
    settings = digest(min_quality=0, backlog=2)
    assert await candidates.digest_pool(seeded, settings, watermark=1, first_run=False, slot_time=T0) == []
    first = await candidates.digest_pool(seeded, settings, watermark=1, first_run=True, slot_time=T0)
    # Up to `backlog` of the fresh ones (the 2023 seed alone is within a week of the newest), then the best.
    assert [article.quality for article in first] == [10, 74, 47]
    wider = await candidates.digest_pool(seeded, settings, watermark=1, first_run=True, slot_time=T0,
                                    existing_limit=10)
    assert len(wider) == 5


async def test_keywords_narrow_the_pool_with_full_text_search(seeded: Database) -> None:
    settings = digest(min_quality=0, keywords=['"zero arrests"', "Reuters"])
    pool = await candidates.digest_pool(seeded, settings, watermark=0, first_run=False, slot_time=T0)
    ids = {article.id for article in pool}
    assert "7e22685a7d214d17" in ids
    assert await candidates.keyword_hits(seeded, settings.keywords, ids) == frozenset(ids)
    assert await candidates.keyword_hits(seeded, ["nothing-like-this"], ids) == frozenset()


async def test_max_age_narrows_the_pool_from_the_slot_time(seeded: Database) -> None:
    settings = digest(min_quality=0, max_age_days=30)
    at = datetime(2023, 8, 1, tzinfo=UTC)
    pool = await candidates.digest_pool(seeded, settings, watermark=0, first_run=False, slot_time=at)
    assert [article.id for article in pool] == ["7e22685a7d214d17"]


async def test_matching_urls_ignore_delivery(seeded: Database) -> None:
    settings = digest(min_quality=40)
    assert len(await candidates.matching_urls(seeded, settings, now=T0)) == 2
    assert len(await candidates.matching_urls(seeded, replace(settings, min_quality=0), now=T0)) == 5


# --- audit


async def test_audit_entries_roundtrip_newest_first_and_filtered(db: Database) -> None:
    before = {"schedule": "0 8 * * *"}
    after = {"schedule": "0 9 * * *"}
    await audit_log.record_audit(db, actor_id=7, guild_id=1, action="digest.edit", target="morning",
                             before=before, after=after, outcome="ok", now=T0)
    await audit_log.record_audit(db, actor_id=8, guild_id=2, action="digest.create", target="other",
                             before=None, after={"name": "other"}, outcome="refused: duplicate", now=T0)

    entries = await audit_log.audit_entries(db)
    assert [entry.target for entry in entries] == ["other", "morning"]
    edit = (await audit_log.audit_entries(db, guild_id=1))[0]
    assert (edit.actor_id, edit.action, edit.before, edit.after, edit.outcome, edit.at) == (
        7, "digest.edit", before, after, "ok", T0
    )
    assert [entry.action for entry in await audit_log.audit_entries(db, target="other")] == ["digest.create"]


def write_rated(folder: Path, name: str, quality: int | None) -> str:
    """An article file with this quality (None: unrated); returns its URL."""
    url = f"https://rated.example/{name}"
    rating = "" if quality is None else f"quality: {quality}\n"
    (folder / f"{name}.txt").write_text(
        f'---\ntitle: "Rated {name}"\nwebUrl: "{url}"\n'
        f"publishedDateTime: 2026-03-01T10:00:00Z\n{rating}---\n",
        encoding="utf-8",
    )
    return url


async def test_the_pool_admits_quality_exactly_at_the_minimum_and_unrated_articles_only_at_zero(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "rated"
    folder.mkdir()
    below, at, above = (write_rated(folder, f"q{quality}", quality) for quality in (59, 60, 61))
    unrated = write_rated(folder, "unrated", None)
    await load_corpus(db, folder, now=T0, workers=0)

    async def pool_urls(min_quality: int) -> set[str]:
        pool = await candidates.digest_pool(db, digest(min_quality=min_quality), watermark=0, first_run=False,
                                       slot_time=T0)
        return {article.url for article in pool}

    assert await pool_urls(60) == {at, above}
    assert await pool_urls(0) == {below, at, above, unrated}
    assert unrated not in await pool_urls(1)


async def test_a_stale_plan_is_refused_at_the_claim_and_nothing_is_recorded(seeded: Database) -> None:
    await store.create_digest(seeded, digest(), guild_id=1, now=T0)
    await store.create_digest(seeded, digest("evening"), guild_id=1, now=T0)
    plan = plan_for("morning", ("https://a.example/1",))
    with pytest.raises(store.StalePlan, match="corpus changed"):
        await runs.claim_run(seeded, MORNING, "s1", kind="scheduled", fire_time=T0, plan=plan, now=T0,
                              composed_from=0)
    await runs.mark_seen(seeded, "1/evening", ["https://a.example/1"], now=T0)
    with pytest.raises(store.StalePlan, match="was delivered to the channel"):
        await runs.claim_run(seeded, MORNING, "s1", kind="scheduled", fire_time=T0, plan=plan, now=T0,
                              composed_from=1)
    assert await runs.delivery_log(seeded, MORNING) == []
    fresh = plan_for("morning", ("https://a.example/2",))
    run = await runs.claim_run(seeded, MORNING, "s1", kind="scheduled", fire_time=T0, plan=fresh, now=T0,
                                composed_from=1)
    assert run is not None and run.status == "pending"


async def test_prune_audit_forgets_entries_older_than_the_age_given(db: Database) -> None:
    for days in (400, 100, 1):
        moment = T0 - timedelta(days=days)
        await audit_log.record_audit(db, actor_id=1, guild_id=2, action="digest pause", target="x",
                                     before=None, after=None, outcome="applied", now=moment)
    assert await audit_log.prune_audit(db, now=T0, keep_days=365) == 1
    assert await audit_log.prune_audit(db, now=T0, keep_days=30) == 1
    assert [entry.at for entry in await audit_log.audit_entries(db)] == [T0 - timedelta(days=1)]


async def test_manual_runs_since_lists_only_manual_claims_in_the_window(db: Database) -> None:
    await store.create_digest(db, digest(), guild_id=1, now=T0)
    for minutes, kind in ((90, "manual"), (50, "manual"), (40, "scheduled"), (10, "manual")):
        moment = T0 - timedelta(minutes=minutes)
        await runs.claim_run(db, MORNING, f"k{minutes}", kind=kind, fire_time=moment, plan=Plan("morning"),
                              now=moment)
    since = await runs.manual_runs_since(db, MORNING, T0 - timedelta(hours=1))
    assert since == [T0 - timedelta(minutes=50), T0 - timedelta(minutes=10)]


async def test_a_server_may_not_exceed_its_share_of_runtime_digests(db: Database) -> None:
    await store.create_digest(db, digest("configured"), guild_id=1, now=T0, source="config")
    await store.create_digest(db, digest("one"), guild_id=1, now=T0, per_guild_limit=2)
    await store.create_digest(db, digest("two"), guild_id=1, now=T0, per_guild_limit=2)
    with pytest.raises(store.DigestLimitReached):
        await store.create_digest(db, digest("three"), guild_id=1, now=T0, per_guild_limit=2)
    await store.create_digest(db, digest("elsewhere"), guild_id=9, now=T0, per_guild_limit=2)
