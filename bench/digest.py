"""Digest speed: one digest to each of 200 channels through the emulator with Discord's rate limits
enforced (total time against what the 50 requests/s global limit allows), and composing one digest over
a 100,000-article corpus.

    python bench/digest.py            # full size (a few minutes: most of it generating the corpus)
    python bench/digest.py --small    # CI-sized, seconds
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.gen_corpus import generate
from bot.clock import FakeClock
from bot.compose import compose_next
from bot.config import Config, CorpusConfig, DatabaseConfig, DigestSettings
from bot.delivery import runner_of
from bot.discord.client import create_bot
from bot.store import digests as store
from bot.store import runs
from bot.store.db import Database
from tests.emulator import Emulator, running_bot
from tests.emulator.faults import enforce_rate_limits

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
GLOBAL_LIMIT = 50
FANOUT_TARGET = 1.25
COMPOSE_TARGET_MS = 50.0
COMPOSE_REPEATS = 7


@dataclass(frozen=True)
class Row:
    what: str
    value: str
    target: str
    ok: bool
    timed: bool = True  # a speed target: decides the exit code only at full size (--small proves it runs)


def _settings(name: str, channel_id: int) -> DigestSettings:
    return DigestSettings(
        name=name, channel_id=channel_id, schedule="0 8 * * *", timezone="UTC", min_quality=0, topics=(),
        providers=(), keywords=(), published_only=False, max_age_days=None, max_articles=5, max_related=3,
        backlog=5, mode="channel", log_channel_id=None,
    )


async def fanout(channels: int, work: Path) -> list[Row]:
    """Every digest due at once, one per channel; the ideal is the global limit's pace for the posts."""
    corpus = work / "fanout-corpus"
    shutil.copytree(SEEDS, corpus)
    emu = await Emulator.start(validate_openapi=False)
    try:
        guild = emu.add_guild("bench", channel=None)
        targets = [emu.add_channel(guild, f"news-{i}") for i in range(channels)]
        digests = tuple(_settings(f"d{i}", int(channel.id)) for i, channel in enumerate(targets))
        database = DatabaseConfig(path=work / "fanout.sqlite3")
        config = Config(corpus=CorpusConfig(path=corpus), database=database, digests=digests)
        clock = FakeClock(datetime(2026, 6, 1, 7, 50, tzinfo=UTC))
        async with running_bot(create_bot(config, clock=clock), emu) as bot:
            runner = runner_of(bot)
            await store.sync_config_digests(bot.db, digests, now=clock())
            await runner.wait_idle()
            limits = enforce_rate_limits(emu)
            clock.set(datetime(2026, 6, 1, 8, 0, 5, tzinfo=UTC))
            sent_before = len(emu.requests_to("POST", r"/channels/\d+/messages"))
            started = time.perf_counter()
            assert bot.digest_scheduler is not None
            await bot.digest_scheduler.sweep()
            await runner.wait_idle()
            elapsed = time.perf_counter() - started
            sent = emu.requests_to("POST", r"/channels/\d+/messages")[sent_before:]
            posts = [request for request in sent if request.status == 200]
            statuses = [(await runs.delivery_log(bot.db, d.name, limit=1))[0].status for d in digests]
    finally:
        await emu.stop()
    ideal = len(posts) / GLOBAL_LIMIT
    ratio = elapsed / ideal if ideal else float("inf")
    all_posted = statuses == ["posted"] * channels
    return [
        Row(f"fan-out: {channels} channels, {len(posts)} messages", f"{elapsed:.2f} s",
            f"≤ {FANOUT_TARGET}× {ideal:.2f} s", ratio <= FANOUT_TARGET),
        Row("fan-out: ratio to the global limit", f"{ratio:.2f}×", f"≤ {FANOUT_TARGET}×",
            ratio <= FANOUT_TARGET),
        Row("fan-out: 429s from the emulator", str(limits.limited), "any", True),
        Row("fan-out: every digest posted", str(all_posted), "True", all_posted, timed=False),
    ]


async def compose(articles: int, work: Path) -> list[Row]:
    """Compose the first run (with backlog) and a later run of one digest over the whole corpus."""
    corpus = work / "corpus"
    db_path = work / "compose.sqlite3"
    started = time.perf_counter()
    generate(corpus, articles, seed=7)
    subprocess.run([sys.executable, "-m", "bot", "load", "--corpus", str(corpus), "--db", str(db_path)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    prepared = time.perf_counter() - started
    db = await Database.open(db_path)
    rows = [Row(f"compose: corpus of {articles:,} generated and loaded", f"{prepared:.1f} s", "-", True)]
    try:
        now = datetime(2026, 6, 1, 8, tzinfo=UTC)
        record = await store.create_digest(db, _settings("bench", 1), guild_id=None, now=now)
        for label, first_run in (("first run (backlog)", True), ("later run", False)):
            current = record if first_run else _after_first_run(record)
            timings = []
            for _ in range(COMPOSE_REPEATS):
                begin = time.perf_counter()
                await compose_next(db, current, now=now, slot_time=now)
                timings.append((time.perf_counter() - begin) * 1000)
            median = statistics.median(timings)
            rows.append(Row(f"compose: {label}, median of {COMPOSE_REPEATS}", f"{median:.1f} ms",
                            f"< {COMPOSE_TARGET_MS:.0f} ms", median < COMPOSE_TARGET_MS))
    finally:
        await db.close()
    return rows


def _after_first_run(record: store.DigestRecord) -> store.DigestRecord:
    """A later run in which every article counts as new: the largest pool a run can have."""
    return replace(record, first_run_claimed=True, watermark=0)


def _table(rows: list[Row]) -> str:
    width = max(len(row.what) for row in rows)
    lines = [f"{'measure':<{width}}  {'result':>10}  {'target':<18} ok", "-" * (width + 36)]
    for row in rows:
        lines.append(f"{row.what:<{width}}  {row.value:>10}  {row.target:<18} {'yes' if row.ok else 'NO'}")
    return "\n".join(lines)


async def _run(small: bool) -> int:
    channels, articles = (20, 3_000) if small else (200, 100_000)
    with tempfile.TemporaryDirectory(prefix="digestbot-bench-") as tmp:
        work = Path(tmp)
        rows = await fanout(channels, work)
        rows += await compose(articles, work)
    print(_table(rows))
    return 0 if all(row.ok for row in rows if not (small and row.timed)) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="20 channels and 3,000 articles (seconds)")
    args = parser.parse_args(argv)
    return asyncio.run(_run(args.small))


if __name__ == "__main__":
    raise SystemExit(main())
